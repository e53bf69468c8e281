//! Fake numbers that libphonenumber lets through. Its metadata knows which ranges are
//! allocated, not which numbers are reserved for fiction or typed by someone who will not
//! give a real one.
//!
//! Two kinds of rule, each a function below:
//!
//! - typed fakes, in any country: the national number, or the subscriber number after the
//!   area code, is one digit repeated (`+49 30 33333333`) or a straight run
//!   (`+44 1234 567890`, `987654321`);
//! - fictional ranges that numbering authorities publish for films, TV and books: NANPA's
//!   555-0100..0199, Ofcom's drama numbers and ACMA's numbers for creative works. Each
//!   list cites its source.

use super::codes;

/// The national number of a parsed number, split where libphonenumber's formatting rules
/// put the end of the area (national destination) code.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// The country calling code, such as 44.
    pub country_code: u32,
    /// The national significant number, digits only (`2079460018`).
    pub national: &'a str,
    /// How many leading digits of `national` are the area code; 0 when the number has none.
    pub area_code_len: usize,
}

impl Parts<'_> {
    /// The digits after the area code: the subscriber number.
    fn subscriber(&self) -> &str {
        self.national.get(self.area_code_len..).unwrap_or("")
    }
}

/// A national number this long or longer that is one digit repeated is fake. Shorter
/// plans exist (Niue and Tokelau have 4-digit numbers) where a repeated digit can be real.
const REPEATED_MIN: usize = 6;
/// A national number this long or longer that is a straight run is fake.
const RUN_MIN: usize = 6;
/// A subscriber number (after the area code) this long or longer, one digit repeated.
const SUBSCRIBER_REPEATED_MIN: usize = 6;
/// A subscriber number this long or longer that is a straight run: `+1 212 456 7890` is
/// caught, a short 5-digit run inside a longer number is not.
const SUBSCRIBER_RUN_MIN: usize = 7;

/// Returns the reason code and message of the fake pattern a valid number matches, if any.
pub fn check(parts: Parts<'_>) -> Option<(&'static str, &'static str)> {
    let national = parts.national;
    let subscriber = parts.subscriber();
    if is_repeated(national, REPEATED_MIN) || is_repeated(subscriber, SUBSCRIBER_REPEATED_MIN) {
        return Some((codes::FAKE_REPEATED, "the number is one digit repeated"));
    }
    if is_straight_run(national, RUN_MIN) || is_straight_run(subscriber, SUBSCRIBER_RUN_MIN) {
        return Some((
            codes::FAKE_SEQUENTIAL,
            "the number is a straight run of digits",
        ));
    }
    match parts.country_code {
        1 if is_nanp_fictional(national) => Some((
            codes::FAKE_FICTIONAL_NANP,
            "555-0100 to 555-0199 are reserved for fiction (NANPA)",
        )),
        44 if is_ofcom_drama(national) => Some((
            codes::FAKE_FICTIONAL_OFCOM,
            "an Ofcom number reserved for TV and radio drama",
        )),
        61 if is_acma_fictional(national) => Some((
            codes::FAKE_FICTIONAL_ACMA,
            "an ACMA number reserved for creative works",
        )),
        _ => None,
    }
}

/// `333333`: at least `min` digits, all the same.
fn is_repeated(digits: &str, min: usize) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() >= min && bytes.iter().all(|b| Some(b) == bytes.first())
}

/// `123456789`, `0123456789`, `987654321`, `1234567890`: at least `min` digits, each one
/// more (or each one less) than the last; 9 runs on to 0 the way a keypad row does.
fn is_straight_run(digits: &str, min: usize) -> bool {
    let bytes = digits.as_bytes();
    if bytes.len() < min || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let runs = |step: u8| {
        bytes
            .windows(2)
            .all(|pair| matches!(pair, [a, b] if (a - b'0' + step) % 10 == b - b'0'))
    };
    runs(1) || runs(9) // +9 modulo 10 is one less
}

/// NANP: in every area code, the line numbers 0100 through 0199 of the 555 exchange are
/// reserved for fictional use; the rest of 555 is not (555-1212 is directory assistance).
/// Source: NANPA, "555 NXX Line Numbers"
/// (<https://nationalnanpa.com/number_resource_info/555_numbers.html>).
fn is_nanp_fictional(national: &str) -> bool {
    national.len() == 10 && national.get(3..6) == Some("555") && national.get(6..8) == Some("01")
}

/// Ofcom's numbers for TV and radio drama, as the first seven digits of a 10-digit national
/// significant number (the leading 0 dropped); each range is 1,000 numbers. Source: Ofcom,
/// "TV and radio drama telephone numbers"
/// (<https://www.ofcom.org.uk/phones-and-broadband/phone-numbers/numbers-for-drama>).
const OFCOM_DRAMA: &[&str] = &[
    "1134960", // Leeds 0113 496 0000 to 0999
    "1144960", // Sheffield 0114 496 0xxx
    "1154960", // Nottingham 0115 496 0xxx
    "1164960", // Leicester 0116 496 0xxx
    "1174960", // Bristol 0117 496 0xxx
    "1184960", // Reading 0118 496 0xxx
    "1214960", // Birmingham 0121 496 0xxx
    "1314960", // Edinburgh 0131 496 0xxx
    "1414960", // Glasgow 0141 496 0xxx
    "1514960", // Liverpool 0151 496 0xxx
    "1614960", // Manchester 0161 496 0xxx
    "2079460", // London 020 7946 0xxx
    "1914980", // Tyneside, Durham and Sunderland 0191 498 0xxx
    "2896496", // Northern Ireland 028 9649 6xxx
    "2920180", // Cardiff 029 2018 0xxx
    "1632960", // no area 01632 960xxx
    "7700900", // mobile 07700 900xxx
    "8081570", // freephone 08081 570xxx
    "9098790", // premium rate 0909 879 0xxx
    "3069990", // UK-wide 03069 990xxx
];

fn is_ofcom_drama(national: &str) -> bool {
    national.len() == 10
        && OFCOM_DRAMA
            .iter()
            .any(|prefix| national.starts_with(prefix))
}

/// ACMA's numbers for use in creative works, as national significant numbers (the leading
/// 0 dropped). Source: ACMA, "Phone numbers for use in TV shows, films and creative works"
/// (<https://www.acma.gov.au/phone-numbers-use-tv-shows-films-and-creative-works>):
/// geographic 0[2378] 5550 xxxx and 0[2378] 7010 xxxx, thirty 0491 57x xxx mobiles,
/// freephone 1800 160 401 and 1800 975 707..711, local rate 1300 975 707..711, premium
/// rate 1900 654 321.
const ACMA_LISTED: &[&str] = &[
    // Mobiles.
    "491570006",
    "491570156",
    "491570157",
    "491570158",
    "491570159",
    "491570110",
    "491570313",
    "491570737",
    "491571266",
    "491571491",
    "491571804",
    "491572549",
    "491572665",
    "491572983",
    "491573770",
    "491573087",
    "491574118",
    "491574632",
    "491575254",
    "491575789",
    "491576398",
    "491576801",
    "491577426",
    "491577644",
    "491578957",
    "491578148",
    "491578888",
    "491579212",
    "491579760",
    "491579455",
    // Freephone, local rate and premium rate.
    "1800160401",
    "1800975707",
    "1800975708",
    "1800975709",
    "1800975710",
    "1800975711",
    "1300975707",
    "1300975708",
    "1300975709",
    "1300975710",
    "1300975711",
    "1900654321",
];

fn is_acma_fictional(national: &str) -> bool {
    let geographic = national.len() == 9
        && matches!(national.as_bytes().first(), Some(b'2' | b'3' | b'7' | b'8'))
        && matches!(national.get(1..5), Some("5550" | "7010"));
    geographic || ACMA_LISTED.contains(&national)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(country_code: u32, national: &str, area_code_len: usize) -> Option<&'static str> {
        check(Parts {
            country_code,
            national,
            area_code_len,
        })
        .map(|(code, _)| code)
    }

    #[test]
    fn one_digit_repeated() {
        assert_eq!(code(33, "666666666", 1), Some(codes::FAKE_REPEATED));
        assert_eq!(
            code(49, "3033333333", 2),
            Some(codes::FAKE_REPEATED),
            "after the area code"
        );
        assert_eq!(code(1, "2125555555", 3), Some(codes::FAKE_REPEATED));
        assert_eq!(
            code(683, "4444", 0),
            None,
            "4-digit plans can repeat a digit for real"
        );
        assert_eq!(
            code(49, "3033333", 2),
            None,
            "a 5-digit subscriber number is too short"
        );
        assert_eq!(code(49, "3033333334", 2), None);
    }

    #[test]
    fn straight_runs() {
        assert_eq!(code(49, "123456789", 0), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(
            code(44, "1234567890", 4),
            Some(codes::FAKE_SEQUENTIAL),
            "9 runs on to 0"
        );
        assert_eq!(code(31, "0123456789", 0), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(code(49, "987654321", 0), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(
            code(1, "2124567890", 3),
            Some(codes::FAKE_SEQUENTIAL),
            "after the area code"
        );
        assert_eq!(
            code(49, "30123456", 2),
            None,
            "a 6-digit subscriber run is too short"
        );
        assert_eq!(
            code(49, "3012345678", 0),
            None,
            "no area code known: the whole number"
        );
        assert_eq!(code(49, "1234567", 0), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(code(49, "1235678", 0), None);
    }

    #[test]
    fn nanp_fiction_is_555_0100_to_0199() {
        assert_eq!(code(1, "2025550100", 3), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2125550199", 3), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2025550143", 3), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2025550200", 3), None, "outside 0100..0199");
        assert_eq!(code(1, "2025550099", 3), None, "outside 0100..0199");
        assert_eq!(
            code(1, "2025551212", 3),
            None,
            "directory assistance is real"
        );
        assert_eq!(code(44, "2025550143", 2), None, "only in the NANP");
    }

    #[test]
    fn ofcom_drama_ranges() {
        assert_eq!(code(44, "2079460018", 2), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "7700900123", 4), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "1134960999", 3), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "2896496000", 2), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "8081570123", 4), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(
            code(44, "2079461018", 2),
            None,
            "one block past London's thousand"
        );
        assert_eq!(code(44, "2071838750", 2), None);
        assert_eq!(code(33, "2079460018", 1), None, "only in the UK");
    }

    #[test]
    fn acma_creative_works_ranges() {
        assert_eq!(code(61, "255501234", 1), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "870109999", 1), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "491570006", 3), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "491579455", 3), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "1800975707", 4), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "1900654321", 4), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "491570007", 3), None, "only the listed mobiles");
        assert_eq!(code(61, "455501234", 1), None, "4 is not a geographic area");
        assert_eq!(code(61, "292726000", 1), None);
    }
}
