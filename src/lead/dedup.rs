//! The dedup key: one key per person across leads.
//!
//! The same person arrives through several steps (the seeds: "deduplicate the records").
//! The key is the canonical email where its syntax is valid, else the E.164 phone, else
//! the normalised name and company; empty when the lead has none of them.

/// Builds the key: `email:<canonical>`, `phone:<e164>` or `name:<first last>|<company>`.
pub fn key(
    canonical_email: Option<&str>,
    e164: Option<&str>,
    first_name: &str,
    last_name: &str,
    company: &str,
) -> String {
    if let Some(email) = canonical_email.filter(|e| !e.is_empty()) {
        return format!("email:{email}");
    }
    if let Some(phone) = e164.filter(|p| !p.is_empty()) {
        return format!("phone:{phone}");
    }
    let name = normalise(&format!("{first_name} {last_name}"));
    let company = company_key(company);
    if name.is_empty() {
        return String::new();
    }
    format!("name:{name}|{company}")
}

/// Lower-case, diacritics folded, punctuation dropped, whitespace collapsed.
fn normalise(text: &str) -> String {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Folds the accented Latin letters and Cyrillic ё common in the seeds' languages.
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        'ё' => 'е',
        other => other,
    }
}

/// Legal-form words dropped from company names, so "Contoso, Inc." is "contoso".
const COMPANY_SUFFIXES: &[&str] = &[
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company",
    "plc", "gmbh", "ag", "sa", "s", "a", "sl", "srl", "sas", "ltda", "bv", "nv", "oy", "ab",
    "spa", "ооо", "оао", "зао", "пао", "ао", "ип",
];

fn company_key(company: &str) -> String {
    normalise(company)
        .split(' ')
        .filter(|w| !w.is_empty() && !COMPANY_SUFFIXES.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_wins_then_the_phone_then_the_name() {
        assert_eq!(
            key(Some("ana@contoso.com"), Some("+12025550143"), "Ana", "G", "C"),
            "email:ana@contoso.com"
        );
        assert_eq!(key(None, Some("+12025550143"), "Ana", "G", "C"), "phone:+12025550143");
        assert_eq!(key(Some(""), None, "Ana", "García", "Contoso"), "name:ana garcia|contoso");
        assert_eq!(key(None, None, "", "", "Contoso"), "");
    }

    #[test]
    fn real_looking_duplicates_share_a_key() {
        // Names and companies as different exports write them.
        let a = key(None, None, "José", "Núñez", "Contoso, Inc.");
        let b = key(None, None, "  JOSE ", "nunez", "CONTOSO INC");
        let c = key(None, None, "Jose", "Nunez", "Contoso");
        assert_eq!(a, b);
        assert_eq!(b, c);
        let d = key(None, None, "Пётр", "Иванов", "ООО «Ромашка»");
        let e = key(None, None, "Петр", "иванов", "Ромашка");
        assert_eq!(d, e);
        // Different people stay apart.
        assert_ne!(key(None, None, "Ana", "Lee", "Contoso"), key(None, None, "Ana", "Li", "Contoso"));
        assert_ne!(key(None, None, "Ana", "Lee", "Contoso"), key(None, None, "Ana", "Lee", "Fabrikam"));
    }
}
