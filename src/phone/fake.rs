//! Fake numbers that libphonenumber lets through: its metadata knows which ranges exist,
//! not which are reserved for fiction or typed by people who will not give a number.

use super::codes;

/// Returns the code and message of the fake pattern a number matches, if any.
///
/// `country_code` is the calling code, `nsn` the national significant number (digits).
pub fn check(country_code: u32, nsn: &str) -> Option<(&'static str, &'static str)> {
    if nsn.len() >= 4 && nsn.bytes().all(|b| Some(&b) == nsn.as_bytes().first()) {
        return Some((codes::FAKE_REPEATED, "the number is one digit repeated"));
    }
    if nsn.len() >= 6 && is_straight_run(nsn) {
        return Some((codes::FAKE_SEQUENTIAL, "the number is a straight run of digits"));
    }
    match country_code {
        1 if is_nanp_fictional(nsn) => Some((
            codes::FAKE_FICTIONAL_NANP,
            "555-0100 to 555-0199 are reserved for fiction (NANPA)",
        )),
        44 if is_ofcom_drama(nsn) => Some((
            codes::FAKE_FICTIONAL_OFCOM,
            "an Ofcom drama number, reserved for TV and radio",
        )),
        61 if is_acma_fictional(nsn) => Some((
            codes::FAKE_FICTIONAL_ACMA,
            "an ACMA number reserved for creative works",
        )),
        _ => None,
    }
}

/// 123456789, 0123456789, 987654321: every digit one more (or one less) than the last,
/// wrapping 9 to 0 (1234567890).
fn is_straight_run(digits: &str) -> bool {
    let d: Vec<i32> = digits.bytes().map(|b| i32::from(b) - i32::from(b'0')).collect();
    let steps = |step: i32| d.windows(2).all(|w| (w[0] + step).rem_euclid(10) == w[1]);
    steps(1) || steps(-1)
}

/// NANP: the line numbers 0100 through 0199 of the 555 exchange are reserved for
/// fictional use in every area code. Source: NANPA, "555 NXX Line Numbers"
/// (<https://nationalnanpa.com/number_resource_info/555_numbers.html>).
fn is_nanp_fictional(nsn: &str) -> bool {
    nsn.len() == 10 && nsn.get(3..6) == Some("555") && nsn.get(6..8) == Some("01")
}

/// Ofcom's ranges for TV and radio drama, as national significant numbers (without the
/// leading 0); each range is 1,000 numbers. Source: Ofcom, "Telephone numbers for use in
/// TV and radio drama programmes"
/// (<https://www.ofcom.org.uk/phones-and-broadband/phone-numbers/numbers-for-drama>).
const OFCOM_DRAMA: &[&str] = &[
    "1134960", // Leeds 0113 496 0000-0999
    "1144960", // Sheffield
    "1154960", // Nottingham
    "1164960", // Leicester
    "1174960", // Bristol
    "1184960", // Reading
    "1214960", // Birmingham
    "1314960", // Edinburgh
    "1414960", // Glasgow
    "1514960", // Liverpool
    "1614960", // Manchester
    "2079460", // London 020 7946 0000-0999
    "1914980", // Tyneside 0191 498 0000-0999
    "2896496", // Northern Ireland 028 9649 6000-6999
    "2920180", // Cardiff 029 2018 0000-0999
    "1632960", // no area 01632 960000-960999
    "7700900", // mobile 07700 900000-900999
    "8081570", // freephone 08081 570000-570999
    "9098790", // premium rate 0909 879 0000-0999
    "3069990", // UK-wide 03069 990000-990999
];

fn is_ofcom_drama(nsn: &str) -> bool {
    nsn.len() == 10 && OFCOM_DRAMA.iter().any(|prefix| nsn.starts_with(prefix))
}

/// ACMA's numbers for use in creative works, as national significant numbers. Source:
/// ACMA, "Phone numbers for use in TV shows, films and creative works"
/// (<https://www.acma.gov.au/phone-numbers-use-tv-shows-films-and-creative-works>):
/// 0[2378] 5550 xxxx and 0[2378] 7010 xxxx, a list of 0491 57x xxx mobiles, 1800 and 1300
/// 975 707-711, 1800 160 401 and 1900 654 321.
const ACMA_MOBILES: &[&str] = &[
    "491570006", "491570156", "491570157", "491570158", "491570159", "491570110",
    "491570313", "491570737", "491571266", "491571491", "491571804", "491572549",
    "491572665", "491572983", "491573770", "491573087", "491574118", "491574632",
    "491575254", "491575789", "491576398", "491576801", "491577426", "491577644",
    "491578957", "491578148", "491578888", "491579212", "491579760", "491579455",
];

const ACMA_SERVICE: &[&str] = &[
    "1800975707", "1800975708", "1800975709", "1800975710", "1800975711", "1300975707",
    "1300975708", "1300975709", "1300975710", "1300975711", "1800160401", "1900654321",
];

fn is_acma_fictional(nsn: &str) -> bool {
    let geographic = nsn.len() == 9
        && matches!(nsn.as_bytes().first(), Some(b'2' | b'3' | b'7' | b'8'))
        && matches!(nsn.get(1..5), Some("5550" | "7010"));
    geographic || ACMA_MOBILES.contains(&nsn) || ACMA_SERVICE.contains(&nsn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(cc: u32, nsn: &str) -> Option<&'static str> {
        check(cc, nsn).map(|(code, _)| code)
    }

    #[test]
    fn repeated_and_straight_runs() {
        assert_eq!(code(1, "2222222222"), Some(codes::FAKE_REPEATED));
        assert_eq!(code(49, "123456789"), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(code(49, "1234567890"), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(code(49, "987654321"), Some(codes::FAKE_SEQUENTIAL));
        assert_eq!(code(49, "3012345678"), None);
        assert_eq!(code(49, "30123456"), None);
    }

    #[test]
    fn published_fictional_ranges() {
        assert_eq!(code(1, "2025550100"), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2125550199"), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2025550143"), Some(codes::FAKE_FICTIONAL_NANP));
        assert_eq!(code(1, "2025550200"), None, "outside 0100..0199");
        assert_eq!(code(1, "2025550099"), None, "outside 0100..0199");
        assert_eq!(code(1, "2024561111"), None);
        assert_eq!(code(44, "2079460018"), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "7700900123"), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "1134960999"), Some(codes::FAKE_FICTIONAL_OFCOM));
        assert_eq!(code(44, "2071838750"), None);
        assert_eq!(code(61, "255501234"), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "870109999"), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "491570006"), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "1800975707"), Some(codes::FAKE_FICTIONAL_ACMA));
        assert_eq!(code(61, "292726000"), None);
        // The ranges are per country: the same digits elsewhere are not fictional.
        assert_eq!(code(33, "2079460018"), None);
    }
}
