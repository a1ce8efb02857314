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

/// Cases from Helm's `TestParseSet`.
#[test]
fn helm_parse_set_cases() {
    let ok = [
        (
            "name1=null,f=false,t=true",
            json!({"name1": null, "f": false, "t": true}),
        ),
        (
            "name1=value1,name2=value2,",
            json!({"name1": "value1", "name2": "value2"}),
        ),
        (
            "name1=,name2=value2",
            json!({"name1": "", "name2": "value2"}),
        ),
        ("leading_zeros=00009", json!({"leading_zeros": "00009"})),
        (
            "name1=one\\=two,name2=three\\=four",
            json!({"name1": "one=two", "name2": "three=four"}),
        ),
        ("name1=one two three", json!({"name1": "one two three"})),
        (
            "outer.inner1=value,outer.middle.inner=value",
            json!({"outer": {"inner1": "value", "middle": {"inner": "value"}}}),
        ),
        ("name1.name2=", json!({"name1": {"name2": ""}})),
        ("name1={1021,902}", json!({"name1": [1021, 902]})),
        (
            "name1.name2={value1,value2}",
            json!({"name1": {"name2": ["value1", "value2"]}}),
        ),
        ("list[0]=foo,list[1]=bar,", json!({"list": ["foo", "bar"]})),
        (
            "list[0]=foo,list[3]=bar",
            json!({"list": ["foo", null, null, "bar"]}),
        ),
        ("noval[0]", json!({"noval": []})),
        ("noval[0]=", json!({"noval": [""]})),
        ("nested[1][1]=1", json!({"nested": [null, [null, 1]]})),
        (
            "name1.name2[1].foo=bar,name1.name2[0].foo=bar",
            json!({"name1": {"name2": [{"foo": "bar"}, {"foo": "bar"}]}}),
        ),
        (
            "name1.name2[1].foo=bar",
            json!({"name1": {"name2": [null, {"foo": "bar"}]}}),
        ),
    ];
    for (line, want) in ok {
        assert_eq!(parse(line).unwrap(), want, "{line}");
    }
    let bad = [
        "name1=value1,,,,name2=value2,",
        "name1,name2=",
        "name1,name2=value2",
        "name1,name2=value2\\",
        "name1,name2",
        "name1.name2",
        "name1.name2,name1.name3",
        "name1.=name2",
        "name1.,name2",
        "name1={1021,902",
        "list[0].foo=bar,list[-30].hello=world",
        "list[0]=foo,list[-20]=bar",
        "illegal[0]name.foo=bar",
        "]={}].",
    ];
    for line in bad {
        assert!(parse(line).is_err(), "{line} should fail");
    }
}

/// Cases from Helm's `TestParseJSON` (numbers compared as the floats JSON gives).
#[test]
fn helm_parse_json_cases() {
    let cases = [
        (
            r#"outer.inner1="1",outer.inner3=3,outer.inner4=true,outer.inner5="true""#,
            json!({"outer": {"inner1": "overwrite", "inner2": "value2"}}),
            json!({"outer": {"inner1": "1", "inner2": "value2", "inner3": 3, "inner4": true, "inner5": "true"}}),
        ),
        (
            r#"outer.inner1={"a":"1","b":2,"c":[1,2,3]},outer.inner3=["new value 1","new value 2"],outer.inner5=[{"A":"1"}]"#,
            json!({"outer": {"inner1": {"x": "overwrite"}, "inner2": "value2", "inner3": ["overwrite"]}}),
            json!({"outer": {"inner1": {"a": "1", "b": 2, "c": [1, 2, 3]}, "inner2": "value2",
                             "inner3": ["new value 1", "new value 2"], "inner5": [{"A": "1"}]}}),
        ),
        (
            r#"outer.inner1=,outer.inner3={"aa":"1","cc":[1,2,3]},outer.inner3.cc[1]=null"#,
            json!({"outer": {"inner1": {"x": "overwrite"}, "inner2": "value2"}}),
            json!({"outer": {"inner1": null, "inner2": "value2", "inner3": {"aa": "1", "cc": [1, null, 3]}}}),
        ),
    ];
    for (line, start, want) in cases {
        let Value::Object(mut m) = start else {
            unreachable!()
        };
        parse_into(line, &mut m, Reader::Json).unwrap();
        assert_eq!(
            Value::Object(m),
            crate::values::floats_everywhere(want),
            "{line}"
        );
    }
    let mut m = Map::new();
    assert!(parse_into(r#"a={"A":"1"}]"#, &mut m, Reader::Json).is_err());
}
