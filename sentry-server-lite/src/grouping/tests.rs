use super::*;

fn ev(json: &str) -> Event {
    Event::from_slice(json.as_bytes()).expect("event json")
}

fn comps(json: &str) -> Vec<Vec<String>> {
    group(&ev(json)).components
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const RUST_PANIC: &str = r#"{"platform":"native","level":"fatal","exception":{"values":[{
  "type":"panic","value":"called `Option::unwrap()` on a `None` value",
  "mechanism":{"type":"panic","handled":false},
  "stacktrace":{"frames":[
    {"function":"std::rt::lang_start","package":"std","in_app":false,"instruction_addr":"0x55d0c8a1f2a0"},
    {"function":"orderd::main","symbol":"_ZN6orderd4main17h2f1e0c3b9a8d7c6bE","package":"orderd","filename":"main.rs","abs_path":"/build/orderd/src/main.rs","lineno":41,"in_app":true},
    {"function":"orderd::handlers::checkout","package":"orderd","filename":"checkout.rs","lineno":118,"colno":38,"in_app":true},
    {"function":"core::option::unwrap_failed","package":"core","in_app":false}
  ]}}]}}"#;

#[test]
fn protocol_example_rust_panic() {
    assert_eq!(
        comps(RUST_PANIC),
        vec![v(&[
            "exc",
            "panic",
            "main.rs|orderd::main",
            "checkout.rs|orderd::handlers::checkout"
        ])]
    );
    // Other line numbers, addresses and message: same group.
    let moved = RUST_PANIC
        .replace("\"lineno\":118", "\"lineno\":160")
        .replace("0x55d0c8a1f2a0", "0x1")
        .replace("on a `None` value", "something else");
    assert_eq!(group(&ev(RUST_PANIC)).hash, group(&ev(&moved)).hash);
    // A different function: a different group.
    let other = RUST_PANIC.replace("handlers::checkout", "handlers::refund");
    assert_ne!(group(&ev(RUST_PANIC)).hash, group(&ev(&other)).hash);
}

#[test]
fn protocol_example_message_template() {
    let json = r#"{"logentry":{"message":"Payment provider %s timed out after %d ms",
        "params":["stripe",3012],"formatted":"Payment provider stripe timed out after 3012 ms"}}"#;
    assert_eq!(
        comps(json),
        vec![v(&["msg", "Payment provider %s timed out after %d ms"])]
    );
}

#[test]
fn formatted_messages_are_parameterized() {
    assert_eq!(
        normalize_message(
            "user bob@example.com hit http://x.io/a?b=1 from 10.0.0.1 and ::1 id \
             9ec79c33-ec99-42ab-8353-589fcb2e04dc at 2024-06-01T12:00:00Z took 35ms \
             addr 0xdeadBEEF ratio 0.5 count 12"
        ),
        "user <email> hit <url> from <ip> and <ip> id <uuid> at <date> took <duration> \
         addr <hex> ratio <float> count <int>"
    );
    assert_eq!(normalize_message("a 2001:db8::1 b"), "a <ip> b");
    assert_eq!(
        normalize_message("in db::add at 12:30:45"),
        "in db::add at <date>"
    );
    assert_eq!(
        normalize_message(
            "sha 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12 md5 d41d8cd98f00b204e9800998ecf8427e"
        ),
        "sha <sha1> md5 <md5>"
    );
    assert_eq!(
        normalize_message("\n\nfirst\n\nsecond\nthird"),
        "first\nsecond"
    );
    let long = "x".repeat(2000);
    assert_eq!(normalize_message(&long).len(), 1024);
}

#[test]
fn fingerprints() {
    let a = r#"{"message":"a","fingerprint":["db-down"]}"#;
    let b = r#"{"message":"b","fingerprint":["db-down"]}"#;
    assert_eq!(comps(a), vec![v(&["fingerprint", "db-down"])]);
    assert_eq!(group(&ev(a)).hash, group(&ev(b)).hash);
    // Exactly the default: ignored.
    assert_eq!(
        comps(r#"{"message":"m 1","fingerprint":["{{ default }}"]}"#),
        vec![v(&["msg", "m <int>"])]
    );
    // {{ default }} expands to the default hash, splitting the default group.
    let d = comps(r#"{"message":"m 1","fingerprint":["{{default}}","tenant-a"]}"#);
    let default_hash = hash_components(&[v(&["msg", "m <int>"])]);
    assert_eq!(d, vec![v(&["fingerprint", &default_hash, "tenant-a"])]);
    assert_eq!(
        comps(
            r#"{"message":"m","transaction":"/t","level":"warning","fingerprint":["{{ transaction }}","{{level}}"]}"#
        ),
        vec![v(&["fingerprint", "/t", "warning"])]
    );
}

#[test]
fn frames_all_when_none_in_app_and_recursion_collapses() {
    let json = r#"{"exception":[{"type":"ValueError","module":"myapp.errors","stacktrace":{"frames":[
        {"module":"app.a","function":"f"},{"module":"app.b","function":"rec"},
        {"module":"app.b","function":"rec"},{"module":"app.b","function":"rec"}]}}]}"#;
    assert_eq!(
        comps(json),
        vec![v(&[
            "exc",
            "myapp.errors.ValueError",
            "app.a|f",
            "app.b|rec"
        ])]
    );
}

#[test]
fn exception_without_frames_uses_value_and_chains() {
    assert_eq!(
        comps(r#"{"exception":[{"type":"KeyError","value":"user 42"}]}"#),
        vec![v(&["exc", "KeyError", "value", "user <int>"])]
    );
    let chain = comps(
        r#"{"exception":[{"type":"IOError","value":"disk"},{"type":"RuntimeError","stacktrace":{"frames":[{"module":"m","function":"f"}]}}]}"#,
    );
    assert_eq!(
        chain,
        vec![
            v(&["exc", "IOError", "value", "disk"]),
            v(&["exc", "RuntimeError", "m|f"])
        ]
    );
    // Synthetic: the type does not count.
    assert_eq!(
        comps(
            r#"{"exception":[{"type":"SIGSEGV","mechanism":{"type":"signal","synthetic":true},"stacktrace":{"frames":[{"function":"crash","filename":"a.c"}]}}]}"#
        ),
        vec![v(&["exc", "", "a.c|crash"])]
    );
    // An empty exception falls through to the message.
    assert_eq!(
        comps(r#"{"exception":[{}],"message":"x 1"}"#),
        vec![v(&["msg", "x <int>"])]
    );
}

#[test]
fn exception_groups_and_limits() {
    let json = r#"{"exception":[
        {"type":"ExceptionGroup","mechanism":{"type":"chained","is_exception_group":true}},
        {"type":"A","value":"a"}]}"#;
    assert_eq!(comps(json), vec![v(&["exc", "A", "value", "a"])]);
    let many: Vec<String> = (0..8).map(|i| format!(r#"{{"type":"E{i}"}}"#)).collect();
    let c = comps(&format!(r#"{{"exception":[{}]}}"#, many.join(",")));
    assert_eq!(c.len(), 5);
    assert_eq!(c[0], v(&["exc", "E3"]));
}

#[test]
fn threads_and_fallback() {
    let json = r#"{"message":"m","threads":[{"id":1,"stacktrace":{"frames":[{"module":"x","function":"a"}]}},
        {"id":2,"crashed":true,"stacktrace":{"frames":[{"module":"y","function":"b","lineno":3}]}}]}"#;
    assert_eq!(comps(json), vec![v(&["thread", "y|b"])]);
    assert_eq!(
        comps(r#"{"stacktrace":{"frames":[{"context_line":"  boom()  "}]}}"#),
        vec![v(&["thread", "boom()"])]
    );
    assert_eq!(
        comps(r#"{"level":"warning","logger":"db"}"#),
        vec![v(&["fallback", "warning", "db"])]
    );
    assert_eq!(comps("{}"), vec![v(&["fallback", "error", ""])]);
}

#[test]
fn function_normalization() {
    let cases = [
        ("app::run::h0123456789abcdef", "app::run"),
        ("app::run::{{closure}}", "app::run::{closure}"),
        ("app::run::{closure#3}", "app::run::{closure}"),
        (
            "<alloc::vec::Vec<T> as core::ops::Drop>::drop",
            "alloc::vec::Vec::drop",
        ),
        ("_<app::Foo as app::Bar>::baz", "app::Foo::baz"),
        ("<impl app::Thing>::go", "app::Thing::go"),
        (
            "std::collections::HashMap<K, V>::insert",
            "std::collections::HashMap::insert",
        ),
        ("<lambda>", "{lambda}"),
        ("Foo$$Lambda$123/0x0000000800c02a00.apply", "Foo{lambda}"),
        ("lambda$main$0", "lambda$main"),
        ("block (2 levels) in render", "{block} in render"),
        ("handler_42", "handler_{n}"),
        ("  spaced    name ", "spaced name"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_function(input), want, "{input}");
    }
}

#[test]
fn path_normalization() {
    let cases = [
        ("./src/main.rs", "src/main.rs"),
        ("C:\\Users\\Me\\App.py", "c:/users/me/app.py"),
        (
            "https://cdn.example.com/static/3f2a9b7c1d/app.js?v=2",
            "/static/<v>/app.js",
        ),
        ("/app/releases/v1.2.3/lib.rb", "/app/releases/<v>/lib.rb"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_path(input), want, "{input}");
    }
}

#[test]
fn separators_are_stripped_before_hashing() {
    assert_eq!(
        hash_components(&[v(&["a\u{1e}", "b"])]),
        hash_components(&[v(&["a", "b"])])
    );
    assert_ne!(
        hash_components(&[v(&["a", "b"])]),
        hash_components(&[v(&["ab"])])
    );
    assert_eq!(group(&ev("{}")).version, "g1");
}

#[test]
fn generics_are_stripped_in_one_pass() {
    // Balanced lists go, unmatched `<` stay (what the rescanning version did).
    assert_eq!(normalize_function("a<b<c>d"), "a<bd");
    assert_eq!(normalize_function("<<<x>"), "<<");
    assert_eq!(normalize_function("f<T>::g<<U>>"), "f::g");
    assert_eq!(normalize_function("x<>y<z"), "xy<z");
    let many = "<".repeat(80_000);
    assert_eq!(normalize_function(&many), many);
}

#[test]
fn repeated_default_fingerprint_keeps_its_hash() {
    let one = group(&ev(r#"{"message":"m","fingerprint":["{{default}}","x"]}"#));
    let two = group(&ev(
        r#"{"message":"m","fingerprint":["{{default}}","x","{{ default }}"]}"#,
    ));
    assert_eq!(one.components[0][1], two.components[0][3]);
}
