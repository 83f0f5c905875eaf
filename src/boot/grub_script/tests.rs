use super::*;

fn ok(s: &str) {
    check(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"));
}

fn bad(s: &str) -> Error {
    check(s.as_bytes()).expect_err(s)
}

#[test]
fn accepts_what_grub_accepts() {
    for s in [
        "if true; then\nmenuentry a {\necho x\n}\nfi\n",
        "echo fi\n",
        "menuentry a { echo x }\n",
        "menuentry a { echo x; }\n",
        "echo \"a\nb\"\n",
        "echo a \\\n b\n",
        "if true\nthen\necho\nelif false; then echo; else echo; fi\n",
        "for x in a b; do echo $x; done\n",
        "for x in; do echo; done\n",
        "while true\ndo\necho\ndone\n",
        "until true; do echo; done\n",
        "submenu a {\necho\n}\n",
        "insmod x # { \n",
        "echo ${x} $1 $? \"${x}\"\n",
        "function f\n{\necho\n}\necho\n",
        "menuentry \"a\" --class x { echo \"}\" }\n",
        "echo \\{\n",
        "echo 'a\\'\n",
        "set a=1 ; \n",
        "echo a;",
        "time echo\n",
        "if menuentry a { echo; }; then echo; fi\n",
        "",
    ] {
        ok(s);
    }
}

#[test]
fn refuses_what_grub_refuses() {
    for s in [
        "menuentry a {\n}\n",
        "echo {\n",
        "echo }\n",
        "echo a{b\n",
        "fi\n",
        "echo x; fi\n",
        "menuentry a {\necho x\n",
        "menuentry a\n{\necho x\n}\n",
        "echo \"a\n",
        "echo 'a\n",
        "if true; then\nfi\n",
        "for x in a b; do\n",
        "echo a#b {\n",
        "echo ${x\n",
        "echo a|b\n",
        "{\necho\n}\n",
        "function f {}\necho\n",
        "function {\necho\n}\necho\n",
        "function f g {\necho\n}\necho\n",
        "function \"f\" {\necho\n}\necho\n",
        "function f {\necho\n\necho\n",
        "if true; then function f { echo; }; fi\necho\n",
        "echo a; ; echo b\n",
        "then\n",
        "menuentry a {\n if true; then\n echo\n}\n",
        "\"if\" true; then echo; fi\n",
        "echo [[\n",
        "echo a { echo b } c\n",
        "for x in a { echo; }; do echo; done\n",
        "while { echo; }; do echo; done\n",
        "case x\n",
        "in\n",
        "echo $\n",
        "echo ${x y}\n",
        "set a=1 ;;\n",
        "echo \"a\\\"\n",
        "menuentry a {\n# c\n}\n",
        "if true; then echo; fi; fi\n",
        "for x\n in a; do echo; done\n",
    ] {
        bad(s);
    }
}

#[test]
fn names_the_opening_never_closed() {
    assert_eq!(
        bad("echo\nfunction load_video {\n  insmod efi_gop\n\nmenuentry a {\necho\n}\n"),
        Error::Unclosed {
            line: 2,
            what: "`function`".into()
        }
    );
    assert_eq!(
        bad("echo\nif [ x ]; then\n  set a=1\n"),
        Error::Unclosed {
            line: 2,
            what: "`if`".into()
        }
    );
    assert_eq!(
        bad("menuentry a {\n if true; then\n echo\n}\n"),
        Error::ClosedBy {
            line: 2,
            what: "`if`".into(),
            found: "`}`".into(),
            at: 4
        }
    );
    assert_eq!(
        bad("echo\nset x=\"abc\necho\n"),
        Error::Unclosed {
            line: 2,
            what: "a double quote".into()
        }
    );
    assert_eq!(
        bad("for x in a b; do\necho\n"),
        Error::Unclosed {
            line: 1,
            what: "`for`".into()
        }
    );
}

#[test]
fn deep_nesting_is_refused_not_walked() {
    let deep = "if true; then\n".repeat(100_000);
    assert!(matches!(bad(&deep), Error::TooDeep { line: 65 }));
}
