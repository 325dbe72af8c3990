//! Typed contexts under the names and shapes of the official `sentry::protocol`:
//! [`Context`] with its variants and structs, as code written for the official crate
//! builds them. Events keep `contexts` as a JSON map; a [`Context`] becomes one entry
//! of it through `From<Context> for Value` (the same JSON the official crate writes:
//! the fields plus `"type"`), which is how `Scope::set_context` takes it.
//!
//! ```
//! use sentry_client::protocol::{Context, OsContext, Value};
//!
//! let os = Context::Os(Box::new(OsContext {
//!     name: Some("Linux".into()),
//!     ..Default::default()
//! }));
//! let json = Value::from(os);
//! assert_eq!(json["type"], "os");
//! assert_eq!(json["name"], "Linux");
//! ```

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::span_id::{SpanId, SpanStatus, TraceId};

/// Typed contextual data; each struct converts into it with `.into()`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
pub enum Context {
    /// Device data.
    Device(Box<DeviceContext>),
    /// Operating system data.
    Os(Box<OsContext>),
    /// Runtime data.
    Runtime(Box<RuntimeContext>),
    /// Application data.
    App(Box<AppContext>),
    /// Web browser data.
    Browser(Box<BrowserContext>),
    /// Trace data.
    Trace(Box<TraceContext>),
    /// GPU data.
    Gpu(Box<GpuContext>),
    /// OpenTelemetry data.
    Otel(Box<OtelContext>),
    /// HTTP response data.
    Response(Box<ResponseContext>),
    /// Any other context: a JSON object of its own keys (`"type": "unknown"` on the wire).
    #[serde(rename = "unknown")]
    Other(Map<String, Value>),
}

impl Context {
    /// The `type` written for this context.
    pub fn type_name(&self) -> &str {
        match self {
            Context::Device(..) => "device",
            Context::Os(..) => "os",
            Context::Runtime(..) => "runtime",
            Context::App(..) => "app",
            Context::Browser(..) => "browser",
            Context::Trace(..) => "trace",
            Context::Gpu(..) => "gpu",
            Context::Otel(..) => "otel",
            Context::Response(..) => "response",
            Context::Other(..) => "unknown",
        }
    }

    /// Reads a context as an event holds it: the `type` key names the variant, and
    /// without one the context's key does (`os`, `device`, …) or it is [`Context::Other`].
    /// A value that is not an object, or does not fit its type, gives `None`.
    pub fn from_value(key: &str, value: &Value) -> Option<Context> {
        let mut map = value.as_object()?.clone();
        if !map.contains_key("type") {
            let inferred = match key {
                "device" | "os" | "runtime" | "app" | "browser" | "trace" | "gpu" | "otel"
                | "response" => key,
                _ => "unknown",
            };
            map.insert("type".into(), Value::String(inferred.into()));
        }
        match serde_json::from_value(Value::Object(map.clone())) {
            Ok(context) => Some(context),
            // A `type` we have no struct for is still a context: keep every key.
            Err(_) if !is_typed(map.get("type")) => {
                map.remove("type");
                Some(Context::Other(map))
            }
            Err(_) => None,
        }
    }
}

fn is_typed(ty: Option<&Value>) -> bool {
    matches!(
        ty.and_then(Value::as_str),
        Some(
            "device" | "os" | "runtime" | "app" | "browser" | "trace" | "gpu" | "otel" | "response"
        )
    )
}

impl From<Context> for Value {
    fn from(context: Context) -> Value {
        // Serializing these structs into a `Value` cannot fail: every key is a string
        // and every number finite or absent (an infinite battery level becomes null).
        serde_json::to_value(context).unwrap_or_else(|_| Value::Object(Map::new()))
    }
}

macro_rules! into_context {
    ($($variant:ident($ty:ident)),* $(,)?) => {$(
        impl From<$ty> for Context {
            fn from(data: $ty) -> Context {
                Context::$variant(Box::new(data))
            }
        }
        impl From<$ty> for Value {
            fn from(data: $ty) -> Value {
                Value::from(Context::from(data))
            }
        }
    )*};
}

into_context!(
    Device(DeviceContext),
    Os(OsContext),
    Runtime(RuntimeContext),
    App(AppContext),
    Browser(BrowserContext),
    Trace(TraceContext),
    Gpu(GpuContext),
    Otel(OtelContext),
    Response(ResponseContext),
);

/// A device's screen orientation.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    /// Portrait.
    Portrait,
    /// Landscape.
    Landscape,
}

/// `SystemTime` fields as RFC 3339 strings (read leniently, as event timestamps are).
mod rfc3339_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::protocol::Timestamp;

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&Timestamp::from(*t).to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        let t: Option<Timestamp> = Option::deserialize(d)?;
        Ok(t.map(|t| t.to_system_time()))
    }
}

/// Declares a context struct: every field optional and left out when `None`, plus
/// `other` for keys without a field of their own.
macro_rules! context_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(@time $time:tt)?
                pub $field:ident: Option<$ty:ty>,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                $(#[serde(with = $time)])?
                pub $field: Option<$ty>,
            )*
            /// Keys without a field of their own.
            #[serde(flatten)]
            pub other: Map<String, Value>,
        }
    };
}

context_struct! {
    /// The device the program runs on.
    pub struct DeviceContext {
        /// The device's name.
        pub name: Option<String>,
        /// The model family.
        pub family: Option<String>,
        /// The model, human-readable.
        pub model: Option<String>,
        /// The model's internal identifier.
        pub model_id: Option<String>,
        /// The native CPU architecture.
        pub arch: Option<String>,
        /// The battery level, 0 to 100.
        pub battery_level: Option<f32>,
        /// The screen orientation.
        pub orientation: Option<Orientation>,
        /// Whether it is a simulator.
        pub simulator: Option<bool>,
        /// Total memory in bytes.
        pub memory_size: Option<u64>,
        /// Free memory in bytes.
        pub free_memory: Option<u64>,
        /// Memory usable by the program, in bytes.
        pub usable_memory: Option<u64>,
        /// Total storage in bytes.
        pub storage_size: Option<u64>,
        /// Free storage in bytes.
        pub free_storage: Option<u64>,
        /// Total external storage in bytes.
        pub external_storage_size: Option<u64>,
        /// Free external storage in bytes.
        pub external_free_storage: Option<u64>,
        /// When the device booted.
        @time "rfc3339_opt"
        pub boot_time: Option<SystemTime>,
        /// The device's time zone.
        pub timezone: Option<String>,
    }
}

context_struct! {
    /// The operating system.
    pub struct OsContext {
        /// Its name.
        pub name: Option<String>,
        /// Its version.
        pub version: Option<String>,
        /// Its internal build number.
        pub build: Option<String>,
        /// The kernel version.
        pub kernel_version: Option<String>,
        /// Whether the device is rooted.
        pub rooted: Option<bool>,
    }
}

context_struct! {
    /// The language runtime.
    pub struct RuntimeContext {
        /// Its name (`rustc`, for instance).
        pub name: Option<String>,
        /// Its version.
        pub version: Option<String>,
    }
}

context_struct! {
    /// The application.
    pub struct AppContext {
        /// When it started.
        @time "rfc3339_opt"
        pub app_start_time: Option<SystemTime>,
        /// An application-specific device id.
        pub device_app_hash: Option<String>,
        /// The build type.
        pub build_type: Option<String>,
        /// The bundle id.
        pub app_identifier: Option<String>,
        /// Its name as the platform shows it.
        pub app_name: Option<String>,
        /// Its version as the platform shows it.
        pub app_version: Option<String>,
        /// Its internal build id.
        pub app_build: Option<String>,
    }
}

context_struct! {
    /// The web browser.
    pub struct BrowserContext {
        /// Its name.
        pub name: Option<String>,
        /// Its version.
        pub version: Option<String>,
    }
}

/// The GPU of the device.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct GpuContext {
    /// The graphics device's name.
    pub name: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The driver version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    /// The PCI id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The PCI vendor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    /// The vendor's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// Its memory in megabytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<u32>,
    /// The low-level API (`Metal`, `Direct3D11`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_type: Option<String>,
    /// Whether it renders multi-threaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_threaded_rendering: Option<bool>,
    /// Whether it supports non-power-of-two textures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npot_support: Option<bool>,
    /// The largest texture size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_texture_size: Option<u32>,
    /// The shader capability level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graphics_shader_level: Option<String>,
    /// Whether draw call instancing is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_draw_call_instancing: Option<bool>,
    /// Whether ray tracing is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_ray_tracing: Option<bool>,
    /// Whether compute shaders are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_compute_shaders: Option<bool>,
    /// Whether geometry shaders are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_geometry_shaders: Option<bool>,
    /// Keys without a field of their own.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// OpenTelemetry attributes.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct OtelContext {
    /// General attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Resource attributes (the entity producing the telemetry).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub resource: Map<String, Value>,
    /// Keys without a field of their own.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An HTTP response.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ResponseContext {
    /// The raw cookie values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<String>,
    /// The headers (repeated ones merged as HTTP merges them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u64>,
    /// The body size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_size: Option<u64>,
    /// The body, in any form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// The trace an event belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct TraceContext {
    /// The span's id (random by default).
    #[serde(default)]
    pub span_id: SpanId,
    /// The trace's id (random by default).
    #[serde(default)]
    pub trace_id: TraceId,
    /// The parent span, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<SpanId>,
    /// The operation (`http.server`, `db.query`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The span's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SpanStatus>,
    /// What created the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Data attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_variant_writes_its_type_and_fields() {
        let mut other = Map::new();
        other.insert("level".into(), json!(3));
        let cases: Vec<(Context, Value)> = vec![
            (
                OsContext {
                    name: Some("Linux".into()),
                    kernel_version: Some("6.1".into()),
                    ..Default::default()
                }
                .into(),
                json!({"type": "os", "name": "Linux", "kernel_version": "6.1"}),
            ),
            (
                RuntimeContext {
                    name: Some("rustc".into()),
                    version: Some("1.85.0".into()),
                    ..Default::default()
                }
                .into(),
                json!({"type": "runtime", "name": "rustc", "version": "1.85.0"}),
            ),
            (
                DeviceContext {
                    arch: Some("x86_64".into()),
                    orientation: Some(Orientation::Portrait),
                    boot_time: Some(SystemTime::UNIX_EPOCH),
                    ..Default::default()
                }
                .into(),
                json!({"type": "device", "arch": "x86_64", "orientation": "portrait",
                       "boot_time": "1970-01-01T00:00:00Z"}),
            ),
            (
                GpuContext {
                    name: "gpu0".into(),
                    memory_size: Some(8192),
                    ..Default::default()
                }
                .into(),
                json!({"type": "gpu", "name": "gpu0", "memory_size": 8192}),
            ),
            (
                Context::Other(other),
                json!({"type": "unknown", "level": 3}),
            ),
        ];
        for (context, mut expected) in cases {
            let ty = context.type_name().to_owned();
            let value = Value::from(context.clone());
            assert_eq!(value["type"], ty);
            let key = if ty == "unknown" { "custom" } else { &ty };
            assert_eq!(Context::from_value(key, &value), Some(context));
            let mut value = value;
            let times = [&mut value, &mut expected].map(|v| {
                v.as_object_mut()
                    .and_then(|m| m.remove("boot_time"))
                    .and_then(|t| t.as_str().map(str::to_owned))
            });
            if let [Some(t), Some(e)] = &times {
                // The same instant, whatever the number of fraction digits.
                assert!(t.starts_with(e.trim_end_matches('Z')), "{t} vs {e}");
            }
            assert_eq!(value, expected);
        }
    }

    #[test]
    fn the_key_names_a_context_without_type() {
        let os = Context::from_value("os", &json!({"name": "Windows", "x": 1}));
        let Some(Context::Os(os)) = os else {
            panic!("{os:?}")
        };
        assert_eq!(os.name.as_deref(), Some("Windows"));
        assert_eq!(os.other.get("x"), Some(&json!(1)));
        let custom = Context::from_value("character", &json!({"name": "Mighty Fighter"}));
        assert!(matches!(custom, Some(Context::Other(m)) if m["name"] == "Mighty Fighter"));
        let unknown_type = Context::from_value("k", &json!({"type": "cloud_resource", "a": 1}));
        assert!(matches!(unknown_type, Some(Context::Other(m)) if m["a"] == 1));
        assert_eq!(Context::from_value("os", &json!("a string")), None);
        assert_eq!(Context::from_value("os", &json!({"name": 5})), None);
    }

    #[test]
    fn trace_context_ids_are_hex() {
        let trace = TraceContext {
            op: Some("http.server".into()),
            status: Some(SpanStatus::NotFound),
            ..Default::default()
        };
        let value = Value::from(trace.clone());
        assert_eq!(value["span_id"].as_str().map(str::len), Some(16));
        assert_eq!(value["trace_id"].as_str().map(str::len), Some(32));
        assert_eq!(value["status"], "not_found");
        assert_eq!(
            Context::from_value("trace", &value),
            Some(Context::Trace(Box::new(trace)))
        );
    }
}
