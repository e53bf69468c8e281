//! Job titles ranked by seniority, in English, Spanish, Portuguese and Russian.

use crate::reason::push_debug;

/// How senior a job title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seniority {
    /// Decides: C-level, president, owner, partner, founder.
    Executive,
    /// Influences: VP, director, head, chief of a function.
    Senior,
}

/// C-level abbreviations.
const C_LEVEL: &[&str] = &[
    "ceo", "cto", "cfo", "coo", "cio", "cmo", "cso", "cro", "cpo", "cdo", "cco", "cao", "chro",
    "ciso", "cxo",
];

/// Owners, presidents and founders, in English, Spanish and Portuguese.
const HEAD_OF_BUSINESS: &[&str] = &[
    "president",
    "presidente",
    "presidenta",
    "chairman",
    "chairwoman",
    "chairperson",
    "owner",
    "proprietor",
    "founder",
    "cofounder",
    "fundador",
    "fundadora",
    "cofundador",
    "cofundadora",
    "dueño",
    "dueña",
    "propietario",
    "propietaria",
    "proprietário",
    "proprietária",
    "sócio",
    "sócia",
    "socio",
    "socia",
];

/// Two-word executive titles.
const EXECUTIVE_PAIRS: &[(&str, &str)] = &[
    ("managing", "director"),
    ("managing", "partner"),
    ("executive", "director"),
    ("general", "manager"),
    ("director", "general"),
    ("directora", "general"),
    ("director", "ejecutivo"),
    ("directora", "ejecutiva"),
    ("gerente", "general"),
    ("diretor", "geral"),
    ("diretora", "geral"),
    ("diretor", "executivo"),
    ("diretora", "executiva"),
    ("diretor", "presidente"),
    ("diretora", "presidente"),
    ("gerente", "geral"),
];

/// Senior titles in English, Spanish and Portuguese.
const SENIOR: &[&str] = &[
    "vp",
    "svp",
    "evp",
    "avp",
    "vice",
    "vicepresident",
    "vicepresidente",
    "vicepresidenta",
    "director",
    "directora",
    "diretor",
    "diretora",
    "head",
    "jefe",
    "jefa",
    "chefe",
];

/// Russian word stems: Russian inflects (`директор`, `директора`, `директором`), so its
/// titles are matched by the start of the word.
const RU_EXECUTIVE_STEMS: &[&str] = &[
    "президент",
    "владел",
    "основател",
    "сооснов",
    "учредител",
    "собственник",
];
const RU_SENIOR_STEMS: &[&str] = &[
    "директор",
    "руководител",
    "начальник",
    "заведующ",
    "глав",
    "вице",
];

/// Words that, before a rank, make it a deputy's: "Vice President", "Deputy CEO",
/// "Заместитель генерального директора".
const DEPUTY: &[&str] = &["vice", "deputy", "вице", "заместитель", "зам"];

/// Roles that own a product or process, not the business: "Product Owner".
const NOT_BUSINESS_OWNER: &[&str] = &[
    "product",
    "process",
    "service",
    "data",
    "system",
    "systems",
    "application",
    "technical",
    "budget",
    "content",
    "platform",
    "feature",
    "risk",
    "control",
];

/// Assistants to a rank do not hold it: "Executive Assistant to the CEO".
const ASSISTANT: &[&str] = &[
    "assistant",
    "asistente",
    "assistente",
    "secretary",
    "secretaria",
    "secretária",
    "помощник",
    "ассистент",
    "секретарь",
];

/// A factor's detail: `before`, the title's words in their `Debug` form, `after`.
pub(super) fn quoted_detail(before: &str, words: &str, after: &str) -> String {
    let mut detail = String::with_capacity(before.len() + words.len() + 2 + after.len());
    detail.push_str(before);
    push_debug(&mut detail, words);
    detail.push_str(after);
    detail
}

/// Splits text into its words: "co-founder & cto" is `co founder cto`.
pub(super) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Ranks a job title by whole words (never inside one: "Directory Admin" is no director),
/// and returns the words that decided.
pub(super) fn seniority(title: &str) -> Option<(Seniority, String)> {
    // Each word lower-cased on its own (Unicode lower-casing depends on word ends); an
    // ASCII title, the common case, lower-cased whole: the same words, fewer allocations.
    let lower;
    let owned: Vec<String>;
    let words: Vec<&str> = if title.is_ascii() {
        lower = title.to_ascii_lowercase();
        words(&lower).collect()
    } else {
        owned = words(title).map(str::to_lowercase).collect();
        owned.iter().map(String::as_str).collect()
    };
    if words.iter().any(|w| ASSISTANT.contains(w)) {
        return None;
    }
    let mut senior = None;
    for i in 0..words.len() {
        match rank_at(&words, i) {
            Some((Seniority::Executive, shown)) => return Some((Seniority::Executive, shown)),
            Some((Seniority::Senior, shown)) => {
                senior.get_or_insert(shown);
            }
            None => {}
        }
    }
    senior.map(|shown| (Seniority::Senior, shown))
}

/// Ranks the title word at `i` in its context, with the words that show the rank.
fn rank_at(words: &[&str], i: usize) -> Option<(Seniority, String)> {
    let w = *words.get(i)?;
    let prev = i.checked_sub(1).and_then(|j| words.get(j)).copied();
    let next = words.get(i + 1).copied().unwrap_or("");
    let pair = EXECUTIVE_PAIRS.contains(&(w, next))
        || (w.starts_with("генеральн") || w.starts_with("исполнительн"))
            && next.starts_with("директор");
    let rank = if C_LEVEL.contains(&w) {
        Seniority::Executive
    } else if w == "chief" {
        // "Chief Executive Officer" is C-level; "Chief Architect" runs a function.
        match words.get(i + 1..) {
            Some(rest) if rest.contains(&"officer") => Seniority::Executive,
            _ => Seniority::Senior,
        }
    } else if HEAD_OF_BUSINESS.contains(&w) {
        if w == "owner" && prev.is_some_and(|p| NOT_BUSINESS_OWNER.contains(&p)) {
            return None;
        }
        Seniority::Executive
    } else if pair || RU_EXECUTIVE_STEMS.iter().any(|s| w.starts_with(s)) {
        Seniority::Executive
    } else if SENIOR.contains(&w)
        || RU_SENIOR_STEMS.iter().any(|s| w.starts_with(s)) && !w.starts_with("директори")
    {
        Seniority::Senior
    } else {
        return None;
    };
    // A deputy's rank is senior, whatever it deputises for.
    let rank = match prev {
        Some(p) if DEPUTY.contains(&p) => Seniority::Senior,
        _ => rank,
    };
    // Only letters are shown: the detail never carries digits from the input.
    let shown: String = if pair {
        format!("{w} {next}")
    } else {
        w.to_string()
    }
    .chars()
    .filter(|c| c.is_alphabetic() || *c == ' ')
    .collect();
    Some((rank, shown))
}
