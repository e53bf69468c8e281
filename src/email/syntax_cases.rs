//! The syntax case table: addresses from public test suites and standards, with the
//! outcome [`super::parse`] must give.
//!
//! Sources, named per group below:
//! - RFC 3696 section 3 (J. Klensin, "Application Techniques for Checking and
//!   Transformation of Names"), read with its errata 246 and 3563: a backslash quotes a
//!   character only inside a quoted string.
//! - RFC 5321 section 4.5.3.1 and RFC 1035 section 2.3.4: the length limits.
//! - Wikipedia, "Email address", section "Examples" (valid, invalid and internationalised
//!   examples).
//! - The isemail test suite by Dominic Sayers (tests.xml, BSD licence), as carried by
//!   pyIsEmail and quoted in python-email-validator's tests/test_syntax.py.
//! - python-email-validator (Joshua Tauberer, Unlicense), tests/test_syntax.py:
//!   valid, internationalised, quoted, invalid and unsafe-character cases.
//! - Our own cases for what lead exports contain: display names, `mailto:`, commas,
//!   IP addresses, numeric TLDs, upper case, German IDNs.
//!
//! Where leadcheck deliberately differs from a source, the line says so. `Ok(domain)` is
//! an accepted address with its expected ASCII domain; `Err(code)` is a refusal with its
//! reason code.

use super::super::codes::*;

/// One case: the input (already trimmed, as the validator passes it) and the outcome.
pub(super) type Case = (&'static str, Result<&'static str, &'static str>);

/// The table: at least 100 cases (a test checks the count).
pub(super) const CASES: &[Case] = &[
    // --- RFC 3696 section 3, with errata 246/3563 ---
    (r"Abc\@def@example.com", Err(SYNTAX_MULTIPLE_AT)), // errata: not valid unquoted
    (r"Fred\ Bloggs@example.com", Err(SYNTAX_INVALID)), // errata: not valid unquoted
    (r"Joe.\\Blow@example.com", Err(SYNTAX_INVALID)),   // errata: not valid unquoted
    (r#""Abc@def"@example.com"#, Ok("example.com")),
    (r#""Fred Bloggs"@example.com"#, Ok("example.com")),
    (r#""Joe.\\Blow"@example.com"#, Ok("example.com")),
    ("customer/department=shipping@example.com", Ok("example.com")),
    ("$A12345@example.com", Ok("example.com")),
    ("!def!xyz%abc@example.com", Ok("example.com")),
    ("_somename@example.com", Ok("example.com")),
    // --- Wikipedia "Email address", valid examples ---
    ("simple@example.com", Ok("example.com")),
    ("very.common@example.com", Ok("example.com")),
    ("FirstName.LastName@EasierReading.org", Ok("easierreading.org")),
    ("x@example.com", Ok("example.com")),
    (
        "long.email-address-with-hyphens@and.subdomains.example.com",
        Ok("and.subdomains.example.com"),
    ),
    ("user.name+tag+sorting@example.com", Ok("example.com")),
    ("name/surname@example.com", Ok("example.com")),
    ("admin@example", Err(SYNTAX_NO_DOT_IN_DOMAIN)), // differs: a local domain gets no mail
    ("example@s.example", Ok("s.example")),
    (r#"" "@example.org"#, Ok("example.org")),
    (r#""john..doe"@example.org"#, Ok("example.org")),
    ("mailhost!username@example.org", Ok("example.org")),
    (
        r#""very.(),:;<>[]\".VERY.\"very@\\ \"very\".unusual"@strange.example.com"#,
        Ok("strange.example.com"),
    ),
    ("user%example.com@example.org", Ok("example.org")),
    ("user-@example.org", Ok("example.org")),
    ("postmaster@[123.123.123.123]", Err(SYNTAX_DOMAIN_LITERAL)), // differs: no literals
    (
        "postmaster@[IPv6:2001:0db8:85a3:0000:0000:8a2e:0370:7334]",
        Err(SYNTAX_DOMAIN_LITERAL), // differs: no literals
    ),
    (
        "_test@[IPv6:2001:0db8:85a3:0000:0000:8a2e:0370:7334]",
        Err(SYNTAX_DOMAIN_LITERAL), // differs: no literals
    ),
    // --- Wikipedia "Email address", invalid examples ---
    ("abc.example.com", Err(SYNTAX_NO_AT)),
    ("a@b@c@example.com", Err(SYNTAX_MULTIPLE_AT)),
    (r#"a"b(c)d,e:f;g<h>i[j\k]l@example.com"#, Err(SYNTAX_INVALID)),
    (r#"just"not"right@example.com"#, Err(SYNTAX_INVALID)),
    (r#"this is"not\allowed@example.com"#, Err(SYNTAX_INVALID)),
    (r#"this\ still\"not\\allowed@example.com"#, Err(SYNTAX_INVALID)),
    (
        "1234567890123456789012345678901234567890123456789012345678901234+x@example.com",
        Err(SYNTAX_LOCAL_TOO_LONG),
    ),
    (
        "i.like.underscores@but_they_are_not_allowed_in_this_part",
        Err(SYNTAX_UNDERSCORE),
    ),
    ("QA[icon]CHOCOLATE[icon]@test.com", Err(SYNTAX_INVALID)),
    // --- Wikipedia "Email address", internationalised examples ---
    ("I❤️CHOCOLATE@example.com", Err(SYNTAX_INVALID)), // decision: emoji local parts refused
    ("Dörte@Sörensen.example.com", Ok("xn--srensen-90a.example.com")),
    ("коля@пример.рф", Ok("xn--e1afmkfd.xn--p1ai")),
    ("用户@例子.广告", Ok("xn--fsqu00a.xn--4rr70v")),
    ("квіточка@пошта.укр", Ok("xn--80a1acn3a.xn--j1amh")),
    // --- isemail tests.xml (Dominic Sayers), via pyIsEmail ---
    ("test", Err(SYNTAX_NO_AT)),
    ("@", Err(SYNTAX_EMPTY_LOCAL)),
    ("test@", Err(SYNTAX_EMPTY_DOMAIN)),
    ("test@io", Err(SYNTAX_NO_DOT_IN_DOMAIN)), // differs: isemail valid, never a mail domain
    ("@io", Err(SYNTAX_EMPTY_LOCAL)),
    ("@iana.org", Err(SYNTAX_EMPTY_LOCAL)),
    ("test@iana.org", Ok("iana.org")),
    ("test@nominet.org.uk", Ok("nominet.org.uk")),
    ("test@about.museum", Ok("about.museum")),
    ("a@iana.org", Ok("iana.org")),
    ("test.test@iana.org", Ok("iana.org")),
    (".test@iana.org", Err(SYNTAX_LEADING_DOT)),
    ("test.@iana.org", Err(SYNTAX_TRAILING_DOT)),
    ("test..iana.org", Err(SYNTAX_NO_AT)),
    ("test_exa-mple.com", Err(SYNTAX_NO_AT)),
    ("!#$%&`*+/=?^`{|}~@iana.org", Ok("iana.org")),
    (r"test\@test@iana.org", Err(SYNTAX_MULTIPLE_AT)),
    ("123@iana.org", Ok("iana.org")),
    ("test@123.com", Ok("123.com")),
    (
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklm@iana.org",
        Ok("iana.org"),
    ),
    (
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklmn@iana.org",
        Err(SYNTAX_LOCAL_TOO_LONG),
    ),
    (
        "test@abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklm.com",
        Err(SYNTAX_LABEL_TOO_LONG),
    ),
    ("test@mason-dixon.com", Ok("mason-dixon.com")),
    ("test@-iana.org", Err(SYNTAX_LABEL_HYPHEN)),
    ("test@iana-.com", Err(SYNTAX_LABEL_HYPHEN)),
    ("test@g--a.com", Ok("g--a.com")),
    ("test@.iana.org", Err(SYNTAX_LEADING_DOT)),
    ("test@iana.org.", Err(SYNTAX_TRAILING_DOT)),
    ("test@iana..com", Err(SYNTAX_CONSECUTIVE_DOTS)),
    (
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghiklm@abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij",
        Err(SYNTAX_ADDRESS_TOO_LONG),
    ),
    (
        "a@abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefg.hij",
        Err(SYNTAX_DOMAIN_TOO_LONG), // differs: isemail's domain limit is 255, ours 253
    ),
    (
        "a@abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghikl.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefg.hijk",
        Err(SYNTAX_DOMAIN_TOO_LONG),
    ),
    (r#""test"@iana.org"#, Ok("iana.org")),
    (r#"""@iana.org"#, Err(SYNTAX_EMPTY_LOCAL)),
    (r#"""""@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""\a"@iana.org"#, Ok("iana.org")),
    (r#""\""@iana.org"#, Ok("iana.org")),
    (r#""\"@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""\\"@iana.org"#, Ok("iana.org")),
    (r#"test"@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""test@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""test"test@iana.org"#, Err(SYNTAX_INVALID)),
    (r#"test"text"@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""test""test"@iana.org"#, Err(SYNTAX_INVALID)),
    (r#""test"."test"@iana.org"#, Err(SYNTAX_INVALID)), // obsolete local part refused
    (r#""test\ test"@iana.org"#, Err(SYNTAX_INVALID)), // differs: lettre refuses "\ "
    (r#""test".test@iana.org"#, Err(SYNTAX_INVALID)), // obsolete local part refused
    ("\"test\u{0}\"@iana.org", Err(SYNTAX_INVALID)),
    (
        r#""abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz abcdefghj"@iana.org"#,
        Err(SYNTAX_LOCAL_TOO_LONG),
    ),
    ("test@[255.255.255.255]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test@a[255.255.255.255]", Err(SYNTAX_DOMAIN_CHAR)),
    ("test@[255.255.255]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test@[IPv6:1111:2222:3333:4444:5555:6666:7777:8888]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test@[IPv6:1111:2222:3333:4444:5555::8888]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test@[RFC-5322-domain-literal]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test@[1.2.3.4", Err(SYNTAX_DOMAIN_LITERAL)),
    ("test @iana.org", Err(SYNTAX_INVALID)), // folding white space near the @ refused
    ("test@ iana .com", Err(SYNTAX_DOMAIN_CHAR)),
    ("test . test@iana.org", Err(SYNTAX_INVALID)),
    ("(comment)test@iana.org", Err(SYNTAX_INVALID)), // comments are header syntax only
    ("test@(comment)iana.org", Err(SYNTAX_DOMAIN_CHAR)),
    ("test@iana.org(comment)", Err(SYNTAX_DOMAIN_CHAR)),
    ("test@xn--hxajbheg2az3al.xn--jxalpdlp", Ok("xn--hxajbheg2az3al.xn--jxalpdlp")),
    ("xn--test@iana.org", Ok("iana.org")),
    ("test@iana.org-", Err(SYNTAX_LABEL_HYPHEN)),
    ("\u{7f}@iana.org", Err(SYNTAX_INVALID)),
    ("test@\u{7f}.org", Err(SYNTAX_DOMAIN_CHAR)),
    ("\"\u{7f}\"@iana.org", Err(SYNTAX_INVALID)),
    ("\u{7}@iana.org", Err(SYNTAX_INVALID)),
    ("test@\u{7}.org", Err(SYNTAX_DOMAIN_CHAR)),
    ("\"\r\ntest\"@iana.org", Err(SYNTAX_INVALID)),
    // --- python-email-validator tests/test_syntax.py, valid ---
    ("Abc@example.tld", Ok("example.tld")),
    ("Abc.123@test-example.com", Ok("test-example.com")),
    ("user+mailbox/department=shipping@example.tld", Ok("example.tld")),
    ("!#$%&'*+-/=?^_`.{|}~@example.tld", Ok("example.tld")),
    ("jeff@臺網中心.tw", Ok("xn--fiqq24b10vi0d.tw")),
    // --- python-email-validator, internationalised local parts (SMTPUTF8) ---
    ("伊昭傑@郵件.商務", Ok("xn--5nqv22n.xn--lhr59c")),
    ("राम@मोहन.ईन्फो", Ok("xn--l2bl7a9d.xn--o1b8dj2ki")),
    ("юзер@екзампл.ком", Ok("xn--80ajglhfv.xn--j1aef")),
    ("θσερ@εχαμπλε.ψομ", Ok("xn--mxahbxey0c.xn--xxaf0a")),
    ("葉士豪@臺網中心.台灣", Ok("xn--fiqq24b10vi0d.xn--kpry57d")),
    ("jeff葉@臺網中心.tw", Ok("xn--fiqq24b10vi0d.tw")),
    ("ñoñó@example.tld", Ok("example.tld")),
    ("我買@example.tld", Ok("example.tld")),
    ("甲斐黒川日本@example.tld", Ok("example.tld")),
    ("чебурашкаящик-с-апельсинами.рф@example.tld", Ok("example.tld")),
    ("ιωάννης@εεττ.gr", Ok("xn--qxaa9ba.gr")),
    // --- python-email-validator, quoted local parts (it refuses them by default) ---
    (r#""unnecessarily.quoted.local.part"@example.com"#, Ok("example.com")),
    (r#""quoted..local.part"@example.com"#, Ok("example.com")),
    (r#""quoted.with.at@"@example.com"#, Ok("example.com")),
    (r#""quoted with space"@example.com"#, Ok("example.com")),
    // --- python-email-validator, invalid ---
    ("my@localhost", Err(SYNTAX_NO_DOT_IN_DOMAIN)),
    ("my@.leadingdot.com", Err(SYNTAX_LEADING_DOT)),
    ("my@．leadingfwdot.com", Err(SYNTAX_LEADING_DOT)),
    ("my@twodots..com", Err(SYNTAX_CONSECUTIVE_DOTS)),
    ("my@twofwdots．．.com", Err(SYNTAX_CONSECUTIVE_DOTS)),
    ("my@trailingdot.com.", Err(SYNTAX_TRAILING_DOT)),
    ("my@trailingfwdot.com．", Err(SYNTAX_TRAILING_DOT)),
    ("me@-leadingdash", Err(SYNTAX_LABEL_HYPHEN)),
    ("me@－leadingdashfw", Err(SYNTAX_LABEL_HYPHEN)),
    ("me@trailingdash-", Err(SYNTAX_LABEL_HYPHEN)),
    ("me@trailingdashfw－", Err(SYNTAX_LABEL_HYPHEN)),
    ("my@baddash.-.com", Err(SYNTAX_LABEL_HYPHEN)),
    ("my@baddash.-a.com", Err(SYNTAX_LABEL_HYPHEN)),
    ("my@baddash.b-.com", Err(SYNTAX_LABEL_HYPHEN)),
    ("my@baddashfw.－a.com", Err(SYNTAX_LABEL_HYPHEN)),
    ("my@example\n.com", Err(SYNTAX_DOMAIN_CHAR)),
    ("me@x!", Err(SYNTAX_DOMAIN_CHAR)),
    ("test@white space", Err(SYNTAX_DOMAIN_CHAR)),
    (".leadingdot@domain.com", Err(SYNTAX_LEADING_DOT)),
    ("twodots..here@domain.com", Err(SYNTAX_CONSECUTIVE_DOTS)),
    ("trailingdot.@domain.email", Err(SYNTAX_TRAILING_DOT)),
    ("me@⒈wouldbeinvalid.com", Err(SYNTAX_IDNA)),
    ("@example.com", Err(SYNTAX_EMPTY_LOCAL)),
    ("white space@test", Err(SYNTAX_NO_DOT_IN_DOMAIN)), // the domain is checked first
    ("white space@example.com", Err(SYNTAX_INVALID)),
    ("m\ny@example.com", Err(SYNTAX_INVALID)),
    (r#"bad"quotes"@example.com"#, Err(SYNTAX_INVALID)),
    (r#"obsolete."quoted".atom@example.com"#, Err(SYNTAX_INVALID)),
    (
        "11111111112222222222333333333344444444445555555555666666666677777@example.com",
        Err(SYNTAX_LOCAL_TOO_LONG),
    ),
    ("me@bad.tld-2", Err(SYNTAX_BAD_TLD)),
    ("me@bad-tld-1", Err(SYNTAX_NO_DOT_IN_DOMAIN)),
    ("me@xn--0.tld", Err(SYNTAX_IDNA)),
    ("me@[127.0.0.1]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("me@[127.0.0.999]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("me@[IPv6:::1]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("me@[tag:text]", Err(SYNTAX_DOMAIN_LITERAL)),
    ("me@yy--0.tld", Ok("yy--0.tld")), // differs: CheckHyphens off, as in real DNS
    // --- python-email-validator, unsafe characters in the local part ---
    ("\u{2005}x@example.com", Err(SYNTAX_INVALID)),
    ("\u{2028}x@example.com", Err(SYNTAX_INVALID)),
    ("\u{0300}x@example.com", Err(SYNTAX_INVALID)),
    ("\u{009C}x@example.com", Err(SYNTAX_INVALID)),
    ("x\u{200B}y@example.com", Err(SYNTAX_INVALID)),
    ("\u{202D}forward-\u{202E}reversed@example.com", Err(SYNTAX_INVALID)),
    ("\u{E000}x@example.com", Err(SYNTAX_INVALID)),
    ("\u{FDEF}x@example.com", Err(SYNTAX_INVALID)),
    // --- leadcheck's own: what lead exports contain ---
    ("John Smith <john@example.com>", Err(SYNTAX_INVALID)),
    ("<john@example.com>", Err(SYNTAX_INVALID)),
    ("mailto:john@example.com", Err(SYNTAX_INVALID)),
    ("john@example.com,", Err(SYNTAX_DOMAIN_CHAR)),
    ("john@example,com", Err(SYNTAX_DOMAIN_CHAR)),
    ("john@example.com;jane@example.com", Err(SYNTAX_MULTIPLE_AT)),
    ("john@@example.com", Err(SYNTAX_MULTIPLE_AT)),
    ("john@1.2.3.4", Err(SYNTAX_DOMAIN_LITERAL)),
    ("john@::1", Err(SYNTAX_DOMAIN_LITERAL)),
    ("john@example.123", Err(SYNTAX_BAD_TLD)),
    ("john@1.2.3.999", Err(SYNTAX_BAD_TLD)),
    ("john@example.c", Ok("example.c")), // no one-letter TLD exists; DNS says so, not syntax
    ("JOHN@EXAMPLE.COM", Ok("example.com")),
    ("john.doe@bücher.de", Ok("xn--bcher-kva.de")),
    ("jörg@MÜNCHEN.de", Ok("xn--mnchen-3ya.de")),
    ("ana@México.mx", Ok("xn--mxico-bsa.mx")),
    ("john@exam_ple.com", Err(SYNTAX_UNDERSCORE)),
    ("john@_dmarc.example.com", Err(SYNTAX_UNDERSCORE)),
    ("john@exam＿ple.com", Err(SYNTAX_IDNA)), // fullwidth underscore: STD3 refuses it
    ("john@ex\u{AD}ample.com", Ok("example.com")), // a soft hyphen is ignored by UTS 46
    ("john@\u{AD}", Err(SYNTAX_EMPTY_DOMAIN)),
    ("john.@example.com", Err(SYNTAX_TRAILING_DOT)),
    ("john..smith@example.com", Err(SYNTAX_CONSECUTIVE_DOTS)),
    ("o'brien@example.ie", Ok("example.ie")),
    ("first_last@example.co.uk", Ok("example.co.uk")),
];

#[test]
fn every_case_in_the_table_gives_its_outcome() {
    assert!(CASES.len() >= 100, "only {} cases", CASES.len());
    let mut wrong = Vec::new();
    for (input, expected) in CASES {
        let got = super::parse(input)
            .map(|address| address.domain)
            .map_err(|reason| reason.code);
        let matches = match (&got, expected) {
            (Ok(domain), Ok(want)) => domain == want,
            (Err(code), Err(want)) => code == want,
            _ => false,
        };
        if !matches {
            wrong.push(format!("{input:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases wrong:\n{}",
        wrong.len(),
        CASES.len(),
        wrong.join("\n")
    );
}
