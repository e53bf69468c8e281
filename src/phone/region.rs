//! The default region of a lead's phone, from its country as people write it: ISO 3166-1
//! alpha-2 or alpha-3, an English name, or a common variant, in any case.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rlibphonenumber::Region;

use super::fast::library;

/// Names people write that are not ISO's (short, official or common) English names.
const VARIANTS: &[(&str, &str)] = &[
    ("us", "US"),
    ("u.s.", "US"),
    ("u.s.a.", "US"),
    ("usa", "US"),
    ("america", "US"),
    ("united states of america", "US"),
    ("the united states", "US"),
    ("uk", "GB"),
    ("u.k.", "GB"),
    ("great britain", "GB"),
    ("britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("russia", "RU"),
    ("south korea", "KR"),
    ("korea", "KR"),
    ("republic of korea", "KR"),
    ("north korea", "KP"),
    ("iran", "IR"),
    ("syria", "SY"),
    ("vietnam", "VN"),
    ("viet nam", "VN"),
    ("laos", "LA"),
    ("bolivia", "BO"),
    ("venezuela", "VE"),
    ("tanzania", "TZ"),
    ("moldova", "MD"),
    ("czech republic", "CZ"),
    ("czechia", "CZ"),
    ("turkey", "TR"),
    ("türkiye", "TR"),
    ("turkiye", "TR"),
    ("ivory coast", "CI"),
    ("cote d'ivoire", "CI"),
    ("taiwan", "TW"),
    ("holland", "NL"),
    ("the netherlands", "NL"),
    ("uae", "AE"),
    ("macedonia", "MK"),
    ("swaziland", "SZ"),
    ("burma", "MM"),
    ("cape verde", "CV"),
    ("east timor", "TL"),
    ("vatican", "VA"),
    ("palestine", "PS"),
    ("brunei", "BN"),
    ("micronesia", "FM"),
    ("hong kong sar", "HK"),
    ("macau", "MO"),
    ("congo", "CG"),
    ("dr congo", "CD"),
    ("drc", "CD"),
    ("democratic republic of the congo", "CD"),
    ("the bahamas", "BS"),
    ("the gambia", "GM"),
    ("saint kitts", "KN"),
    ("st kitts and nevis", "KN"),
    ("st lucia", "LC"),
    ("st vincent", "VC"),
    ("kosovo", "XK"),
    // The seeds are in Spanish, Portuguese and Russian: the usual ones of those too.
    ("eeuu", "US"),
    ("ee.uu.", "US"),
    ("estados unidos", "US"),
    ("eua", "US"),
    ("reino unido", "GB"),
    ("españa", "ES"),
    ("espanha", "ES"),
    ("méxico", "MX"),
    ("brasil", "BR"),
    ("alemania", "DE"),
    ("alemanha", "DE"),
    ("francia", "FR"),
    ("frança", "FR"),
    ("сша", "US"),
    ("россия", "RU"),
    ("великобритания", "GB"),
    ("германия", "DE"),
    ("украина", "UA"),
    ("казахстан", "KZ"),
    ("беларусь", "BY"),
];

/// ISO 3166-1: alpha-2, alpha-3, English names (ISO short, official and common forms,
/// from the ISO 3166 data as packaged by PyPI pycountry 26.2.16).
/// Regenerate with scripts/gen_countries.py.
pub(super) const COUNTRIES: &[(&str, &str, &[&str])] = &[
    ("AD", "AND", &["Andorra", "Principality of Andorra"]),
    ("AE", "ARE", &["United Arab Emirates"]),
    (
        "AF",
        "AFG",
        &["Afghanistan", "Islamic Republic of Afghanistan"],
    ),
    ("AG", "ATG", &["Antigua and Barbuda"]),
    ("AI", "AIA", &["Anguilla"]),
    ("AL", "ALB", &["Albania", "Republic of Albania"]),
    ("AM", "ARM", &["Armenia", "Republic of Armenia"]),
    ("AO", "AGO", &["Angola", "Republic of Angola"]),
    ("AQ", "ATA", &["Antarctica"]),
    ("AR", "ARG", &["Argentina", "Argentine Republic"]),
    ("AS", "ASM", &["American Samoa"]),
    ("AT", "AUT", &["Austria", "Republic of Austria"]),
    ("AU", "AUS", &["Australia"]),
    ("AW", "ABW", &["Aruba"]),
    ("AX", "ALA", &["Åland Islands"]),
    ("AZ", "AZE", &["Azerbaijan", "Republic of Azerbaijan"]),
    (
        "BA",
        "BIH",
        &[
            "Bosnia and Herzegovina",
            "Republic of Bosnia and Herzegovina",
        ],
    ),
    ("BB", "BRB", &["Barbados"]),
    (
        "BD",
        "BGD",
        &["Bangladesh", "People's Republic of Bangladesh"],
    ),
    ("BE", "BEL", &["Belgium", "Kingdom of Belgium"]),
    ("BF", "BFA", &["Burkina Faso"]),
    ("BG", "BGR", &["Bulgaria", "Republic of Bulgaria"]),
    ("BH", "BHR", &["Bahrain", "Kingdom of Bahrain"]),
    ("BI", "BDI", &["Burundi", "Republic of Burundi"]),
    ("BJ", "BEN", &["Benin", "Republic of Benin"]),
    ("BL", "BLM", &["Saint Barthélemy"]),
    ("BM", "BMU", &["Bermuda"]),
    ("BN", "BRN", &["Brunei Darussalam"]),
    (
        "BO",
        "BOL",
        &[
            "Bolivia",
            "Bolivia, Plurinational State of",
            "Plurinational State of Bolivia",
        ],
    ),
    ("BQ", "BES", &["Bonaire, Sint Eustatius and Saba"]),
    ("BR", "BRA", &["Brazil", "Federative Republic of Brazil"]),
    ("BS", "BHS", &["Bahamas", "Commonwealth of the Bahamas"]),
    ("BT", "BTN", &["Bhutan", "Kingdom of Bhutan"]),
    ("BV", "BVT", &["Bouvet Island"]),
    ("BW", "BWA", &["Botswana", "Republic of Botswana"]),
    ("BY", "BLR", &["Belarus", "Republic of Belarus"]),
    ("BZ", "BLZ", &["Belize"]),
    ("CA", "CAN", &["Canada"]),
    ("CC", "CCK", &["Cocos (Keeling) Islands"]),
    ("CD", "COD", &["Congo, The Democratic Republic of the"]),
    ("CF", "CAF", &["Central African Republic"]),
    ("CG", "COG", &["Congo", "Republic of the Congo"]),
    ("CH", "CHE", &["Swiss Confederation", "Switzerland"]),
    ("CI", "CIV", &["Côte d'Ivoire", "Republic of Côte d'Ivoire"]),
    ("CK", "COK", &["Cook Islands"]),
    ("CL", "CHL", &["Chile", "Republic of Chile"]),
    ("CM", "CMR", &["Cameroon", "Republic of Cameroon"]),
    ("CN", "CHN", &["China", "People's Republic of China"]),
    ("CO", "COL", &["Colombia", "Republic of Colombia"]),
    ("CR", "CRI", &["Costa Rica", "Republic of Costa Rica"]),
    ("CU", "CUB", &["Cuba", "Republic of Cuba"]),
    ("CV", "CPV", &["Cabo Verde", "Republic of Cabo Verde"]),
    ("CW", "CUW", &["Curaçao"]),
    ("CX", "CXR", &["Christmas Island"]),
    ("CY", "CYP", &["Cyprus", "Republic of Cyprus"]),
    ("CZ", "CZE", &["Czech Republic", "Czechia"]),
    ("DE", "DEU", &["Federal Republic of Germany", "Germany"]),
    ("DJ", "DJI", &["Djibouti", "Republic of Djibouti"]),
    ("DK", "DNK", &["Denmark", "Kingdom of Denmark"]),
    ("DM", "DMA", &["Commonwealth of Dominica", "Dominica"]),
    ("DO", "DOM", &["Dominican Republic"]),
    (
        "DZ",
        "DZA",
        &["Algeria", "People's Democratic Republic of Algeria"],
    ),
    ("EC", "ECU", &["Ecuador", "Republic of Ecuador"]),
    ("EE", "EST", &["Estonia", "Republic of Estonia"]),
    ("EG", "EGY", &["Arab Republic of Egypt", "Egypt"]),
    ("EH", "ESH", &["Western Sahara"]),
    ("ER", "ERI", &["Eritrea", "the State of Eritrea"]),
    ("ES", "ESP", &["Kingdom of Spain", "Spain"]),
    (
        "ET",
        "ETH",
        &["Ethiopia", "Federal Democratic Republic of Ethiopia"],
    ),
    ("FI", "FIN", &["Finland", "Republic of Finland"]),
    ("FJ", "FJI", &["Fiji", "Republic of Fiji"]),
    ("FK", "FLK", &["Falkland Islands (Malvinas)"]),
    (
        "FM",
        "FSM",
        &[
            "Federated States of Micronesia",
            "Micronesia, Federated States of",
        ],
    ),
    ("FO", "FRO", &["Faroe Islands"]),
    ("FR", "FRA", &["France", "French Republic"]),
    ("GA", "GAB", &["Gabon", "Gabonese Republic"]),
    (
        "GB",
        "GBR",
        &[
            "United Kingdom",
            "United Kingdom of Great Britain and Northern Ireland",
        ],
    ),
    ("GD", "GRD", &["Grenada"]),
    ("GE", "GEO", &["Georgia"]),
    ("GF", "GUF", &["French Guiana"]),
    ("GG", "GGY", &["Guernsey"]),
    ("GH", "GHA", &["Ghana", "Republic of Ghana"]),
    ("GI", "GIB", &["Gibraltar"]),
    ("GL", "GRL", &["Greenland"]),
    ("GM", "GMB", &["Gambia", "Republic of the Gambia"]),
    ("GN", "GIN", &["Guinea", "Republic of Guinea"]),
    ("GP", "GLP", &["Guadeloupe"]),
    (
        "GQ",
        "GNQ",
        &["Equatorial Guinea", "Republic of Equatorial Guinea"],
    ),
    ("GR", "GRC", &["Greece", "Hellenic Republic"]),
    (
        "GS",
        "SGS",
        &["South Georgia and the South Sandwich Islands"],
    ),
    ("GT", "GTM", &["Guatemala", "Republic of Guatemala"]),
    ("GU", "GUM", &["Guam"]),
    ("GW", "GNB", &["Guinea-Bissau", "Republic of Guinea-Bissau"]),
    ("GY", "GUY", &["Guyana", "Republic of Guyana"]),
    (
        "HK",
        "HKG",
        &[
            "Hong Kong",
            "Hong Kong Special Administrative Region of China",
        ],
    ),
    ("HM", "HMD", &["Heard Island and McDonald Islands"]),
    ("HN", "HND", &["Honduras", "Republic of Honduras"]),
    ("HR", "HRV", &["Croatia", "Republic of Croatia"]),
    ("HT", "HTI", &["Haiti", "Republic of Haiti"]),
    ("HU", "HUN", &["Hungary"]),
    ("ID", "IDN", &["Indonesia", "Republic of Indonesia"]),
    ("IE", "IRL", &["Ireland"]),
    ("IL", "ISR", &["Israel", "State of Israel"]),
    ("IM", "IMN", &["Isle of Man"]),
    ("IN", "IND", &["India", "Republic of India"]),
    ("IO", "IOT", &["British Indian Ocean Territory"]),
    ("IQ", "IRQ", &["Iraq", "Republic of Iraq"]),
    (
        "IR",
        "IRN",
        &[
            "Iran",
            "Iran, Islamic Republic of",
            "Islamic Republic of Iran",
        ],
    ),
    ("IS", "ISL", &["Iceland", "Republic of Iceland"]),
    ("IT", "ITA", &["Italian Republic", "Italy"]),
    ("JE", "JEY", &["Jersey"]),
    ("JM", "JAM", &["Jamaica"]),
    ("JO", "JOR", &["Hashemite Kingdom of Jordan", "Jordan"]),
    ("JP", "JPN", &["Japan"]),
    ("KE", "KEN", &["Kenya", "Republic of Kenya"]),
    ("KG", "KGZ", &["Kyrgyz Republic", "Kyrgyzstan"]),
    ("KH", "KHM", &["Cambodia", "Kingdom of Cambodia"]),
    ("KI", "KIR", &["Kiribati", "Republic of Kiribati"]),
    ("KM", "COM", &["Comoros", "Union of the Comoros"]),
    ("KN", "KNA", &["Saint Kitts and Nevis"]),
    (
        "KP",
        "PRK",
        &[
            "Democratic People's Republic of Korea",
            "Korea, Democratic People's Republic of",
            "North Korea",
        ],
    ),
    ("KR", "KOR", &["Korea, Republic of", "South Korea"]),
    ("KW", "KWT", &["Kuwait", "State of Kuwait"]),
    ("KY", "CYM", &["Cayman Islands"]),
    ("KZ", "KAZ", &["Kazakhstan", "Republic of Kazakhstan"]),
    ("LA", "LAO", &["Lao People's Democratic Republic", "Laos"]),
    ("LB", "LBN", &["Lebanese Republic", "Lebanon"]),
    ("LC", "LCA", &["Saint Lucia"]),
    (
        "LI",
        "LIE",
        &["Liechtenstein", "Principality of Liechtenstein"],
    ),
    (
        "LK",
        "LKA",
        &["Democratic Socialist Republic of Sri Lanka", "Sri Lanka"],
    ),
    ("LR", "LBR", &["Liberia", "Republic of Liberia"]),
    ("LS", "LSO", &["Kingdom of Lesotho", "Lesotho"]),
    ("LT", "LTU", &["Lithuania", "Republic of Lithuania"]),
    ("LU", "LUX", &["Grand Duchy of Luxembourg", "Luxembourg"]),
    ("LV", "LVA", &["Latvia", "Republic of Latvia"]),
    ("LY", "LBY", &["Libya"]),
    ("MA", "MAR", &["Kingdom of Morocco", "Morocco"]),
    ("MC", "MCO", &["Monaco", "Principality of Monaco"]),
    (
        "MD",
        "MDA",
        &["Moldova", "Moldova, Republic of", "Republic of Moldova"],
    ),
    ("ME", "MNE", &["Montenegro"]),
    ("MF", "MAF", &["Saint Martin (French part)"]),
    ("MG", "MDG", &["Madagascar", "Republic of Madagascar"]),
    (
        "MH",
        "MHL",
        &["Marshall Islands", "Republic of the Marshall Islands"],
    ),
    (
        "MK",
        "MKD",
        &["North Macedonia", "Republic of North Macedonia"],
    ),
    ("ML", "MLI", &["Mali", "Republic of Mali"]),
    ("MM", "MMR", &["Myanmar", "Republic of Myanmar"]),
    ("MN", "MNG", &["Mongolia"]),
    (
        "MO",
        "MAC",
        &["Macao", "Macao Special Administrative Region of China"],
    ),
    (
        "MP",
        "MNP",
        &[
            "Commonwealth of the Northern Mariana Islands",
            "Northern Mariana Islands",
        ],
    ),
    ("MQ", "MTQ", &["Martinique"]),
    (
        "MR",
        "MRT",
        &["Islamic Republic of Mauritania", "Mauritania"],
    ),
    ("MS", "MSR", &["Montserrat"]),
    ("MT", "MLT", &["Malta", "Republic of Malta"]),
    ("MU", "MUS", &["Mauritius", "Republic of Mauritius"]),
    ("MV", "MDV", &["Maldives", "Republic of Maldives"]),
    ("MW", "MWI", &["Malawi", "Republic of Malawi"]),
    ("MX", "MEX", &["Mexico", "United Mexican States"]),
    ("MY", "MYS", &["Malaysia"]),
    ("MZ", "MOZ", &["Mozambique", "Republic of Mozambique"]),
    ("NA", "NAM", &["Namibia", "Republic of Namibia"]),
    ("NC", "NCL", &["New Caledonia"]),
    ("NE", "NER", &["Niger", "Republic of the Niger"]),
    ("NF", "NFK", &["Norfolk Island"]),
    ("NG", "NGA", &["Federal Republic of Nigeria", "Nigeria"]),
    ("NI", "NIC", &["Nicaragua", "Republic of Nicaragua"]),
    ("NL", "NLD", &["Kingdom of the Netherlands", "Netherlands"]),
    ("NO", "NOR", &["Kingdom of Norway", "Norway"]),
    (
        "NP",
        "NPL",
        &["Federal Democratic Republic of Nepal", "Nepal"],
    ),
    ("NR", "NRU", &["Nauru", "Republic of Nauru"]),
    ("NU", "NIU", &["Niue"]),
    ("NZ", "NZL", &["New Zealand"]),
    ("OM", "OMN", &["Oman", "Sultanate of Oman"]),
    ("PA", "PAN", &["Panama", "Republic of Panama"]),
    ("PE", "PER", &["Peru", "Republic of Peru"]),
    ("PF", "PYF", &["French Polynesia"]),
    (
        "PG",
        "PNG",
        &["Independent State of Papua New Guinea", "Papua New Guinea"],
    ),
    ("PH", "PHL", &["Philippines", "Republic of the Philippines"]),
    ("PK", "PAK", &["Islamic Republic of Pakistan", "Pakistan"]),
    ("PL", "POL", &["Poland", "Republic of Poland"]),
    ("PM", "SPM", &["Saint Pierre and Miquelon"]),
    ("PN", "PCN", &["Pitcairn"]),
    ("PR", "PRI", &["Puerto Rico"]),
    (
        "PS",
        "PSE",
        &["Palestine, State of", "the State of Palestine"],
    ),
    ("PT", "PRT", &["Portugal", "Portuguese Republic"]),
    ("PW", "PLW", &["Palau", "Republic of Palau"]),
    ("PY", "PRY", &["Paraguay", "Republic of Paraguay"]),
    ("QA", "QAT", &["Qatar", "State of Qatar"]),
    ("RE", "REU", &["Réunion"]),
    ("RO", "ROU", &["Romania"]),
    ("RS", "SRB", &["Republic of Serbia", "Serbia"]),
    ("RU", "RUS", &["Russian Federation"]),
    ("RW", "RWA", &["Rwanda", "Rwandese Republic"]),
    ("SA", "SAU", &["Kingdom of Saudi Arabia", "Saudi Arabia"]),
    ("SB", "SLB", &["Solomon Islands"]),
    ("SC", "SYC", &["Republic of Seychelles", "Seychelles"]),
    ("SD", "SDN", &["Republic of the Sudan", "Sudan"]),
    ("SE", "SWE", &["Kingdom of Sweden", "Sweden"]),
    ("SG", "SGP", &["Republic of Singapore", "Singapore"]),
    (
        "SH",
        "SHN",
        &["Saint Helena, Ascension and Tristan da Cunha"],
    ),
    ("SI", "SVN", &["Republic of Slovenia", "Slovenia"]),
    ("SJ", "SJM", &["Svalbard and Jan Mayen"]),
    ("SK", "SVK", &["Slovak Republic", "Slovakia"]),
    ("SL", "SLE", &["Republic of Sierra Leone", "Sierra Leone"]),
    ("SM", "SMR", &["Republic of San Marino", "San Marino"]),
    ("SN", "SEN", &["Republic of Senegal", "Senegal"]),
    ("SO", "SOM", &["Federal Republic of Somalia", "Somalia"]),
    ("SR", "SUR", &["Republic of Suriname", "Suriname"]),
    ("SS", "SSD", &["Republic of South Sudan", "South Sudan"]),
    (
        "ST",
        "STP",
        &[
            "Democratic Republic of Sao Tome and Principe",
            "Sao Tome and Principe",
        ],
    ),
    ("SV", "SLV", &["El Salvador", "Republic of El Salvador"]),
    ("SX", "SXM", &["Sint Maarten (Dutch part)"]),
    ("SY", "SYR", &["Syria", "Syrian Arab Republic"]),
    ("SZ", "SWZ", &["Eswatini", "Kingdom of Eswatini"]),
    ("TC", "TCA", &["Turks and Caicos Islands"]),
    ("TD", "TCD", &["Chad", "Republic of Chad"]),
    ("TF", "ATF", &["French Southern Territories"]),
    ("TG", "TGO", &["Togo", "Togolese Republic"]),
    ("TH", "THA", &["Kingdom of Thailand", "Thailand"]),
    ("TJ", "TJK", &["Republic of Tajikistan", "Tajikistan"]),
    ("TK", "TKL", &["Tokelau"]),
    (
        "TL",
        "TLS",
        &["Democratic Republic of Timor-Leste", "Timor-Leste"],
    ),
    ("TM", "TKM", &["Turkmenistan"]),
    ("TN", "TUN", &["Republic of Tunisia", "Tunisia"]),
    ("TO", "TON", &["Kingdom of Tonga", "Tonga"]),
    ("TR", "TUR", &["Republic of Türkiye", "Türkiye"]),
    (
        "TT",
        "TTO",
        &["Republic of Trinidad and Tobago", "Trinidad and Tobago"],
    ),
    ("TV", "TUV", &["Tuvalu"]),
    ("TW", "TWN", &["Taiwan", "Taiwan, Province of China"]),
    (
        "TZ",
        "TZA",
        &[
            "Tanzania",
            "Tanzania, United Republic of",
            "United Republic of Tanzania",
        ],
    ),
    ("UA", "UKR", &["Ukraine"]),
    ("UG", "UGA", &["Republic of Uganda", "Uganda"]),
    ("UM", "UMI", &["United States Minor Outlying Islands"]),
    ("US", "USA", &["United States", "United States of America"]),
    ("UY", "URY", &["Eastern Republic of Uruguay", "Uruguay"]),
    ("UZ", "UZB", &["Republic of Uzbekistan", "Uzbekistan"]),
    ("VA", "VAT", &["Holy See (Vatican City State)"]),
    ("VC", "VCT", &["Saint Vincent and the Grenadines"]),
    (
        "VE",
        "VEN",
        &[
            "Bolivarian Republic of Venezuela",
            "Venezuela",
            "Venezuela, Bolivarian Republic of",
        ],
    ),
    (
        "VG",
        "VGB",
        &["British Virgin Islands", "Virgin Islands, British"],
    ),
    (
        "VI",
        "VIR",
        &[
            "Virgin Islands of the United States",
            "Virgin Islands, U.S.",
        ],
    ),
    (
        "VN",
        "VNM",
        &["Socialist Republic of Viet Nam", "Viet Nam", "Vietnam"],
    ),
    ("VU", "VUT", &["Republic of Vanuatu", "Vanuatu"]),
    ("WF", "WLF", &["Wallis and Futuna"]),
    ("WS", "WSM", &["Independent State of Samoa", "Samoa"]),
    ("YE", "YEM", &["Republic of Yemen", "Yemen"]),
    ("YT", "MYT", &["Mayotte"]),
    ("ZA", "ZAF", &["Republic of South Africa", "South Africa"]),
    ("ZM", "ZMB", &["Republic of Zambia", "Zambia"]),
    ("ZW", "ZWE", &["Republic of Zimbabwe", "Zimbabwe"]),
];

/// Folds the ways one name is written into one key: case, spacing, dots (`U.S.A.`),
/// `&` for `and`, `St` for `Saint`, hyphens, commas, curly apostrophes and a leading
/// `the`. Table names and requests go through the same fold.
fn fold(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '.' => {}
            '&' => spaced.push_str(" and "),
            '-' | ',' | '_' => spaced.push(' '),
            '\u{2018}' | '\u{2019}' | '`' => spaced.push('\''),
            _ => spaced.extend(c.to_lowercase()),
        }
    }
    let mut words = spaced.split_whitespace().peekable();
    if words.peek() == Some(&"the") {
        words.next();
    }
    let words: Vec<&str> = words.map(|w| if w == "st" { "saint" } else { w }).collect();
    words.join(" ")
}

/// Folded names, alpha-2 and alpha-3 codes to regions, for the regions libphonenumber has
/// metadata for (ISO lists a few it has none for, such as AQ Antarctica: those map to
/// nothing, so their numbers are UNKNOWN rather than INVALID).
fn table() -> &'static HashMap<String, Region> {
    static TABLE: OnceLock<HashMap<String, Region>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map = HashMap::new();
        let mut add = |name: &str, alpha2: &str| {
            if let Some(region) = supported(alpha2) {
                map.insert(fold(name), region);
            }
        };
        for (alpha2, alpha3, names) in COUNTRIES {
            add(alpha2, alpha2);
            add(alpha3, alpha2);
            for name in *names {
                add(name, alpha2);
            }
        }
        for (variant, alpha2) in VARIANTS {
            add(variant, alpha2);
        }
        map
    })
}

/// The region of an alpha-2 code (or `001`) libphonenumber has metadata for.
fn supported(code: &str) -> Option<Region> {
    static SUPPORTED: OnceLock<HashSet<Region>> = OnceLock::new();
    let regions =
        SUPPORTED.get_or_init(|| library::with(|util| util.get_supported_regions().collect()));
    Region::from_code(code)
        .ok()
        .filter(|region| regions.contains(region))
}

/// Returns the region a lead's country names, or None when it names none libphonenumber has
/// metadata for.
///
/// Accepts ISO 3166-1 alpha-2 (`GB`, and the codes libphonenumber adds: `XK` Kosovo, `AC`
/// Ascension, `TA` Tristan da Cunha) and alpha-3 (`GBR`), ISO's English names, and common
/// variants (`UK`, `Great Britain`, `USA`, `United States of America`, `Russia`), in any
/// case and spacing.
///
/// ```
/// # use leadcheck::phone::region::from_country;
/// assert_eq!(from_country("usa"), from_country("United States of America"));
/// assert!(from_country("Atlantis").is_none());
/// ```
pub fn from_country(country: &str) -> Option<Region> {
    let country = country.trim();
    // The common case, an alpha-2 code, needs no allocation.
    if country.len() == 2 {
        if let Some(region) = supported(country) {
            return Some(region);
        }
    }
    if country.is_empty() || country.len() > MAX_COUNTRY_BYTES {
        return None;
    }
    table().get(&fold(country)).copied()
}

/// Longer than any country name (the longest ISO name is under 60 bytes): not looked up.
const MAX_COUNTRY_BYTES: usize = 100;

/// Loads the tables now rather than on the first request.
pub(super) fn warm() {
    let _ = table();
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlibphonenumber::PHONE_NUMBER_UTIL;

    fn code(country: &str) -> Option<String> {
        from_country(country).map(|r| r.as_region_str().to_string())
    }

    #[test]
    fn codes_names_and_variants_in_any_case() {
        for (input, expected) in [
            ("US", "US"),
            ("us", "US"),
            ("USA", "US"),
            ("usa", "US"),
            ("United States", "US"),
            ("United States of America", "US"),
            ("U.S.A.", "US"),
            ("GB", "GB"),
            ("GBR", "GB"),
            ("UK", "GB"),
            ("united kingdom", "GB"),
            ("Great Britain", "GB"),
            ("Russia", "RU"),
            ("Russian Federation", "RU"),
            ("RUS", "RU"),
            ("Россия", "RU"),
            ("deu", "DE"),
            ("Germany", "DE"),
            ("  brazil ", "BR"),
            ("Brasil", "BR"),
            ("EEUU", "US"),
            ("South Korea", "KR"),
            ("Côte d'Ivoire", "CI"),
            ("Ivory Coast", "CI"),
        ] {
            assert_eq!(code(input).as_deref(), Some(expected), "{input}");
        }
        for (input, expected) in [("xk", "XK"), ("AC", "AC"), ("ta", "TA")] {
            assert_eq!(code(input).as_deref(), Some(expected), "{input}");
        }
        for input in ["", "  ", "Atlantis", "XX", "ZZZ", "123", "001", "uk of gb"] {
            assert_eq!(code(input), None, "{input}");
        }
    }

    #[test]
    fn spellings_fold_together() {
        for (input, expected) in [
            ("Trinidad & Tobago", "TT"),
            ("Bosnia & Herzegovina", "BA"),
            ("St. Lucia", "LC"),
            ("St Kitts & Nevis", "KN"),
            ("The Gambia", "GM"),
            ("the  NETHERLANDS", "NL"),
            ("Guinea Bissau", "GW"),
            ("Côte d\u{2019}Ivoire", "CI"),
            ("U.S.", "US"),
            ("Korea, Republic of", "KR"),
            ("Korea Republic of", "KR"),
        ] {
            assert_eq!(code(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn regions_without_metadata_are_no_region() {
        // ISO lists Antarctica and Bouvet Island; libphonenumber has no numbering plan for
        // them, so a national number there cannot be read: UNKNOWN, not INVALID.
        for input in ["AQ", "ATA", "Antarctica", "BV", "Bouvet Island"] {
            assert_eq!(code(input), None, "{input}");
        }
    }

    #[test]
    fn every_iso_form_of_a_supported_region_resolves_to_it() {
        let mut seen = HashSet::new();
        for (alpha2, alpha3, names) in COUNTRIES {
            let Some(region) = supported(alpha2) else {
                continue;
            };
            seen.insert(region);
            assert_eq!(from_country(alpha2), Some(region), "{alpha2}");
            assert_eq!(
                from_country(&alpha2.to_lowercase()),
                Some(region),
                "{alpha2}"
            );
            assert_eq!(from_country(alpha3), Some(region), "{alpha3}");
            for name in *names {
                assert_eq!(from_country(name), Some(region), "{name}");
                assert_eq!(from_country(&name.to_uppercase()), Some(region), "{name}");
            }
        }
        // Every region libphonenumber has is reachable; the three ISO does not list by
        // their codes only.
        let mut missing: Vec<String> = PHONE_NUMBER_UTIL
            .get_supported_regions()
            .filter(|r| !seen.contains(r))
            .map(|r| r.as_region_str().to_string())
            .collect();
        missing.sort();
        assert_eq!(missing, ["AC", "TA", "XK"], "regions with no ISO entry");
        assert!(seen.len() > 240, "{}", seen.len());
    }
}
