use serde_json::json;

use super::*;

fn parse(line: &str) -> Result<Value, StrvalsError> {
    let mut m = Map::new();
    parse_into(line, &mut m, Reader::Typed)?;
    Ok(Value::Object(m))
}

#[test]
fn scalars_are_typed() {
    assert_eq!(parse("name=value").unwrap(), json!({"name": "value"}));
    assert_eq!(
        parse("a=1,b=true,c=null,d=01,e=0").unwrap(),
        json!({"a": 1, "b": true, "c": null, "d": "01", "e": 0})
    );
    assert!(parse("a=1").unwrap()["a"].is_i64());
    assert_eq!(
        parse("long_int_string=1234567890").unwrap(),
        json!({"long_int_string": 1_234_567_890})
    );
    assert_eq!(parse("a=").unwrap(), json!({"a": ""}));
}

#[test]
fn nesting_lists_and_escapes() {
    assert_eq!(
        parse("outer.inner=value").unwrap(),
        json!({"outer": {"inner": "value"}})
    );
    assert_eq!(
        parse("list={a,b,c}").unwrap(),
        json!({"list": ["a", "b", "c"]})
    );
    assert_eq!(
        parse("list[0]=foo,list[1]=bar").unwrap(),
        json!({"list": ["foo", "bar"]})
    );
    assert_eq!(
        parse("list[1]=bar").unwrap(),
        json!({"list": [null, "bar"]})
    );
    assert_eq!(
        parse("list[0].foo=bar,list[0].hello=world").unwrap(),
        json!({"list": [{"foo": "bar", "hello": "world"}]})
    );
    assert_eq!(
        parse("nested[0][1]=1").unwrap(),
        json!({"nested": [[null, 1]]})
    );
    assert_eq!(parse(r"name=one\,two").unwrap(), json!({"name": "one,two"}));
    assert_eq!(parse(r"a\.b=c").unwrap(), json!({"a.b": "c"}));
    assert_eq!(
        parse("a.b=1,a.c=2").unwrap(),
        json!({"a": {"b": 1, "c": 2}})
    );
}

#[test]
fn errors_match_helm() {
    assert_eq!(parse("name").unwrap_err().0, "key \"name\" has no value");
    assert_eq!(
        parse("name,").unwrap_err().0,
        "key \"name\" has no value (cannot end with ,)"
    );
    assert_eq!(parse("a.=b").unwrap_err().0, "key map \"a\" has no value");
    assert_eq!(
        parse("list={a,b").unwrap_err().0,
        "list must terminate with '}'"
    );
    assert!(parse("list[-1]=a").is_err());
}

#[test]
fn string_json_and_file_readers() {
    let mut m = Map::new();
    parse_into("a=1,b=true", &mut m, Reader::String).unwrap();
    assert_eq!(Value::Object(m), json!({"a": "1", "b": "true"}));
    let mut m = Map::new();
    parse_into(r#"a={"x":[1,2]},b=null"#, &mut m, Reader::Json).unwrap();
    assert_eq!(
        Value::Object(m.clone()),
        json!({"a": {"x": [1.0, 2.0]}, "b": null})
    );
    let read = |p: &str| -> Result<String, String> { Ok(format!("content of {p}")) };
    let mut m = Map::new();
    parse_into("cfg=file.txt", &mut m, Reader::File(&read)).unwrap();
    assert_eq!(Value::Object(m), json!({"cfg": "content of file.txt"}));
}
