use crate::formats::{ini, json, yaml_emit, yaml_parse, yaml_scalar};
use crate::tree::{Item, Value, format_float_f, format_float_g};

fn yaml_round_trip(input: &str) -> String {
    let docs = yaml_parse::parse(input.as_bytes()).expect("parses");
    String::from_utf8(yaml_emit::emit(&docs)).expect("utf-8")
}

#[test]
fn floats_print_like_go() {
    assert_eq!(format_float_g(1_234_567_890.0), "1.23456789e+09");
    assert_eq!(format_float_g(0.5), "0.5");
    assert_eq!(format_float_g(100_000.0), "100000");
    assert_eq!(format_float_g(1e6), "1e+06");
    assert_eq!(format_float_g(0.0001), "0.0001");
    assert_eq!(format_float_g(0.00001), "1e-05");
    assert_eq!(format_float_g(-2.5), "-2.5");
    assert_eq!(format_float_f(1e21), "1000000000000000000000");
    assert_eq!(format_float_f(0.000_001_5), "0.0000015");
    assert_eq!(format_float_f(1234.5678), "1234.5678");
    assert_eq!(format_float_f(3.0), "3");
}

#[test]
fn json_floats_and_strings_print_like_encoding_json() {
    let items = vec![
        Item::new("small", Value::Float(1e-7)),
        Item::new("big", Value::Float(1e21)),
        Item::new("plain", Value::Float(25.4)),
        Item::new("html", Value::Str("<a&b>\u{1}".into())),
    ];
    let out = String::from_utf8(json::emit(&items).expect("emits")).expect("utf-8");
    assert_eq!(
        out,
        "{\n\t\"small\": 1e-7,\n\t\"big\": 1e+21,\n\t\"plain\": 25.4,\n\t\"html\": \"\\u003ca\\u0026b\\u003e\\u0001\"\n}\n"
    );
}

#[test]
fn yaml_string_styles_follow_yaml_v3() {
    use yaml_scalar::Style::{Double, Literal, Plain, Single};
    for (s, style) in [
        ("hello world", Plain),
        ("123", Double),
        ("1.5", Double),
        ("true", Double),
        ("yes", Double),
        ("null", Double),
        ("", Double),
        ("2024-01-02T03:04:05Z", Double),
        ("2024-01-02", Double),
        ("1:20", Double),
        ("a: b", Single),
        ("- x", Single),
        ("#x", Single),
        (" lead", Single),
        ("tab\there", Double),
        ("multi\nline", Literal),
        ("trailing \nspace", Double),
        ("http://x.y/z?a=b", Plain),
        ("a #b", Single),
    ] {
        assert_eq!(yaml_scalar::string_style(s, false), style, "{s:?}");
    }
}

#[test]
fn yaml_plain_scalars_resolve_like_yaml_v3() {
    assert_eq!(yaml_scalar::resolve_plain("0x1F"), Value::Int(31));
    assert_eq!(yaml_scalar::resolve_plain("1_000"), Value::Int(1000));
    assert_eq!(yaml_scalar::resolve_plain("-7"), Value::Int(-7));
    assert_eq!(yaml_scalar::resolve_plain("1e3"), Value::Float(1000.0));
    assert_eq!(yaml_scalar::resolve_plain("~"), Value::Null);
    assert_eq!(yaml_scalar::resolve_plain("yes"), Value::Str("yes".into()));
    assert_eq!(
        yaml_scalar::resolve_plain("2024-01-02"),
        Value::Str("2024-01-02".into())
    );
}

#[test]
fn yaml_layout_matches_sops_output() {
    let input = "a:\n  - x: 1\n    why:\n      z: [1, 'two', {k: v}]\n  - - nested\n    - list\nb: |+\n  keep\n\nc: >-\n  folded\n  text\nd: \"multi\n  line\"\ne: {}\nf: []\ng: &anchor hello\nh: *anchor\n";
    assert_eq!(
        yaml_round_trip(input),
        "a:\n    - x: 1\n      why:\n        z:\n            - 1\n            - two\n            - k: v\n    - - nested\n      - list\nb: |+\n    keep\n\nc: folded text\nd: multi line\ne: {}\nf: []\ng: hello\nh: hello\n"
    );
}

#[test]
fn yaml_keeps_comments_and_documents() {
    let input = "# head\na: 1 # inline\nb:\n    # inside b\n    c: 2\n---\nd: |2\n    indented\ne: |2-\n    stripped\ny: n\n";
    assert_eq!(
        yaml_round_trip(input),
        "# head\na: 1 # inline\nb:\n    # inside b\n    c: 2\n---\nd: |4\n      indented\ne: '  stripped'\n\"y\": \"n\"\n"
    );
}

#[test]
fn old_sops_sequence_layout_parses() {
    let input = "sops:\n    pgp:\n    -   created_at: '2019-08-29T21:52:32Z'\n        enc: |\n            line\n        fp: ABC\n    version: 3.6.1\n";
    let docs = yaml_parse::parse(input.as_bytes()).expect("parses");
    let Value::Map(sops) = &docs[0][0].value else {
        panic!("sops is a mapping")
    };
    let Value::Seq(pgp) = &sops[0].value else {
        panic!("pgp is a list")
    };
    let Value::Map(entry) = &pgp[0] else {
        panic!("entry is a mapping")
    };
    assert_eq!(entry[1].value, Value::Str("line\n".into()));
    assert_eq!(entry[2].value, Value::Str("ABC".into()));
    assert_eq!(sops[1].value, Value::Str("3.6.1".into()));
}

#[test]
fn ini_writes_default_keys_without_header_and_aligns() {
    let items =
        ini::parse(b"top = 1\n; about s\n[s]\n# about k\nk = v\nlonger = \"\"\"a\nb\"\"\"\n")
            .expect("parses");
    let out = String::from_utf8(ini::emit(&items).expect("emits")).expect("utf-8");
    assert_eq!(
        out,
        "top = 1\n\n; about s\n[s]\n; about k\nk      = v\nlonger = \"\"\"a\nb\"\"\"\n"
    );
}

#[test]
fn shamir_parts_recombine() {
    // f(x) = secret ^ 0x53·x over GF(2^8); parts carry x as their last byte
    let secret = [0x12u8, 0xAB];
    let part = |x: u8| -> Vec<u8> {
        let mut p: Vec<u8> = secret.iter().map(|s| s ^ gf_mul(0x53, x)).collect();
        p.push(x);
        p
    };
    let combined = crate::shamir::combine(&[part(1), part(3)]).expect("combines");
    assert_eq!(combined, secret);
    assert_eq!(crate::shamir::combine(&[part(2), part(2)]), None);
}

fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 == 1 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

#[test]
fn format_comes_from_the_extension() {
    use crate::Format;
    assert_eq!(Format::from_path("a/b.yml"), Format::Yaml);
    assert_eq!(Format::from_path("a/b.YAML"), Format::Binary);
    assert_eq!(Format::from_path("x.json"), Format::Json);
    assert_eq!(Format::from_path(".env"), Format::Dotenv);
    assert_eq!(Format::from_path("prod.env"), Format::Dotenv);
    assert_eq!(Format::from_path("x.ini"), Format::Ini);
    assert_eq!(Format::from_path("x.txt"), Format::Binary);
}

#[test]
fn encrypted_manifests_without_keys_name_the_recipients() {
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod"},
        "data": {"password": "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]"},
        "sops": {"age": [{"recipient": "age1example", "enc": "x"}], "lastmodified": "2024-01-02T03:04:05Z", "mac": "m", "version": "3.9.0"},
    });
    let plain =
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let ok =
        crate::plugin::decrypt_resources(vec![plain.clone()], &crate::Keys::new()).expect("passes");
    assert_eq!(ok, vec![plain.clone()]);
    let err = crate::plugin::decrypt_resources(vec![plain, secret], &crate::Keys::new())
        .expect_err("needs keys");
    assert!(err.message.contains("Secret prod/db"), "{}", err.message);
    assert!(err.message.contains("age age1example"), "{}", err.message);
    assert!(
        err.hint
            .as_deref()
            .is_some_and(|h| h.contains("--key-file"))
    );
}

#[test]
fn long_scalars_fold_past_column_80_like_yaml_v3() {
    let words = vec!["abcdefghi"; 20].join(" ");
    let items = vec![
        Item::new("k", Value::Str(words.clone())),
        Item::new("q", Value::Str(format!("{words}: x"))),
    ];
    let out = String::from_utf8(yaml_emit::emit(&[items])).expect("utf-8");
    let line = |n: usize| vec!["abcdefghi"; n].join(" ");
    assert_eq!(
        out,
        format!(
            "k: {}\n    {}\n    {}\nq: '{}\n    {}\n    {}: x'\n",
            line(8),
            line(8),
            line(4),
            line(8),
            line(8),
            line(4)
        )
    );
}

#[test]
fn key_texts_are_told_apart_by_content() {
    use crate::{Keys, KeysError};
    let age = b"# created: 2026-12-07T12:00:00Z\n# public key: age16dtemxv0fv3fcvceqz7frky7gq4umq4kedep0xcklt5mm7nyuyzqk29l5z\nAGE-SECRET-KEY-15GJ9NRN6YY922L270UFKZK4X5T5N4TDGXE3XXZA7G5WQRE5K960S5RUUS2\n";
    let keys = Keys::from_texts(&[age]).expect("age identity file");
    assert_eq!(
        keys.age_recipients(),
        vec!["age16dtemxv0fv3fcvceqz7frky7gq4umq4kedep0xcklt5mm7nyuyzqk29l5z".to_owned()]
    );
    assert!(keys.pgp_fingerprints().is_empty());
    let public_only =
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n";
    assert!(matches!(
        Keys::from_texts(&[public_only]),
        Err(KeysError::Unrecognized { index: 1 })
    ));
    let err = Keys::from_texts(&[b"", b"AGE-SECRET-KEY-1NOTAKEY\n"]).expect_err("bad identity");
    assert!(
        matches!(err, KeysError::BadAgeIdentity { index: 2, line: 1 }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("NOTAKEY"));
}
