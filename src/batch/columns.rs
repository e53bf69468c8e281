//! The export's columns: which header (in English, Spanish, Portuguese or Russian) is
//! which lead field, and a CSV row's fields as a request.

use super::input::{parse_time, Request, BAD_CREATED_AT_NOTE};
use crate::pb;
use crate::rpc::time_to_pb;

/// Which input column feeds which lead field.
#[derive(Default)]
pub(super) struct Columns {
    /// The moment every request is assessed at.
    pub(super) as_of: Option<pbjson_types::Timestamp>,
    pub(super) first_name: Option<usize>,
    pub(super) last_name: Option<usize>,
    pub(super) email: Option<usize>,
    pub(super) phone: Option<usize>,
    pub(super) country: Option<usize>,
    pub(super) company: Option<usize>,
    pub(super) title: Option<usize>,
    pub(super) lead_source: Option<usize>,
    pub(super) created_at: Option<usize>,
    pub(super) call_to_action: Option<usize>,
    pub(super) lead_type: Option<usize>,
}

/// A lead field an input column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    FirstName,
    LastName,
    Email,
    Phone,
    Country,
    Company,
    Title,
    LeadSource,
    CreatedAt,
    CallToAction,
    LeadType,
}

/// Every column name the batch client knows, as [`header_key`] folds it, and its field:
/// common CRM names, and the export and filter columns of Partner Center's lead pages
/// (the seeds) in English, Spanish, Portuguese and Russian.
pub(super) const HEADERS: &[(&str, Field)] = &[
    ("firstname", Field::FirstName),
    ("givenname", Field::FirstName),
    ("nombre", Field::FirstName),
    ("nome", Field::FirstName),
    ("имя", Field::FirstName),
    ("lastname", Field::LastName),
    ("surname", Field::LastName),
    ("familyname", Field::LastName),
    ("apellido", Field::LastName),
    ("apellidos", Field::LastName),
    ("sobrenome", Field::LastName),
    ("фамилия", Field::LastName),
    ("email", Field::Email),
    ("emailaddress", Field::Email),
    ("mail", Field::Email),
    ("correoelectrónico", Field::Email),
    ("correoelectronico", Field::Email),
    ("endereçodeemail", Field::Email),
    ("электроннаяпочта", Field::Email),
    ("phone", Field::Phone),
    ("phonenumber", Field::Phone),
    ("telephone", Field::Phone),
    ("tel", Field::Phone),
    ("mobile", Field::Phone),
    ("teléfono", Field::Phone),
    ("telefono", Field::Phone),
    ("telefone", Field::Phone),
    ("телефон", Field::Phone),
    ("country", Field::Country),
    ("countryregion", Field::Country),
    ("countryorregion", Field::Country),
    ("countrycode", Field::Country),
    ("paísoregión", Field::Country),
    ("país", Field::Country),
    ("paísouregião", Field::Country),
    ("странаилирегион", Field::Country),
    ("страна", Field::Country),
    ("company", Field::Company),
    ("companyname", Field::Company),
    ("organization", Field::Company),
    ("organisation", Field::Company),
    ("customername", Field::Company),
    ("nombredelcliente", Field::Company),
    ("empresa", Field::Company),
    ("nomedocliente", Field::Company),
    ("имяклиента", Field::Company),
    ("компания", Field::Company),
    ("title", Field::Title),
    ("jobtitle", Field::Title),
    ("cargo", Field::Title),
    ("должность", Field::Title),
    ("leadsource", Field::LeadSource),
    ("source", Field::LeadSource),
    ("origendeclientepotencial", Field::LeadSource),
    ("origemdoclientepotencial", Field::LeadSource),
    ("origemdolead", Field::LeadSource),
    ("источникпотенциальногоклиента", Field::LeadSource),
    ("источник", Field::LeadSource),
    ("leadcreationdatetime", Field::CreatedAt),
    ("createdat", Field::CreatedAt),
    ("created", Field::CreatedAt),
    ("creationdate", Field::CreatedAt),
    ("createddate", Field::CreatedAt),
    ("calltoaction", Field::CallToAction),
    ("llamadaalaacción", Field::CallToAction),
    ("llamadaalaaccion", Field::CallToAction),
    ("chamadaparaação", Field::CallToAction),
    ("chamadaàação", Field::CallToAction),
    ("призывкдействию", Field::CallToAction),
    ("leadtype", Field::LeadType),
    ("tipodeclientepotencial", Field::LeadType),
    ("tipodelead", Field::LeadType),
    ("типпотенциальногоклиента", Field::LeadType),
];

/// A header as [`HEADERS`] holds it: lower case, letters and digits only (spaces,
/// hyphens, underscores, slashes and a byte-order mark dropped).
pub(super) fn header_key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|ch| ch.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A `Lead type` cell as the proto's enum: the seeds' Offer and Profile in their
/// languages; anything else is left unspecified (the server infers the kind).
pub(super) fn lead_type_of(text: &str) -> pb::LeadType {
    match header_key(text).as_str() {
        "offer" | "oferta" | "предложение" => pb::LeadType::Offer,
        "profile" | "perfil" | "профиль" => pb::LeadType::Profile,
        _ => pb::LeadType::Unspecified,
    }
}

impl Columns {
    /// Matches headers by [`HEADERS`], case-, space-, hyphen- and underscore-insensitively;
    /// the first column of a field wins.
    pub(super) fn from_headers(headers: &[String]) -> Columns {
        let mut c = Columns::default();
        for (i, header) in headers.iter().enumerate() {
            let key = header_key(header);
            let Some(&(_, field)) = HEADERS.iter().find(|(name, _)| *name == key) else {
                continue;
            };
            let slot = match field {
                Field::FirstName => &mut c.first_name,
                Field::LastName => &mut c.last_name,
                Field::Email => &mut c.email,
                Field::Phone => &mut c.phone,
                Field::Country => &mut c.country,
                Field::Company => &mut c.company,
                Field::Title => &mut c.title,
                Field::LeadSource => &mut c.lead_source,
                Field::CreatedAt => &mut c.created_at,
                Field::CallToAction => &mut c.call_to_action,
                Field::LeadType => &mut c.lead_type,
            };
            slot.get_or_insert(i);
        }
        c
    }

    /// The row's request: the lead's eight strings (trimmed) and its creation time.
    pub(super) fn request(
        &self,
        line: u64,
        fields: &csv::StringRecord,
        notes: &mut Vec<String>,
    ) -> Request {
        let get = |col: Option<usize>| {
            col.and_then(|i| fields.get(i))
                .map_or_else(String::new, |s| s.trim().to_string())
        };
        let created_at = self.created_at(&get(self.created_at), notes);
        let lead = pb::Lead {
            first_name: get(self.first_name),
            last_name: get(self.last_name),
            email: get(self.email),
            phone: get(self.phone),
            country: get(self.country),
            company: get(self.company),
            title: get(self.title),
            lead_source: get(self.lead_source),
            created_at,
            call_to_action: get(self.call_to_action),
            lead_type: lead_type_of(&get(self.lead_type)) as i32,
        };
        Request::new(line, lead, self.as_of)
    }

    /// The creation time, when the row has one that reads; a note when it does not (the
    /// value is not repeated: it is in the row itself).
    fn created_at(
        &self,
        created: &str,
        notes: &mut Vec<String>,
    ) -> Option<pbjson_types::Timestamp> {
        if created.is_empty() {
            return None;
        }
        let time = parse_time(created).map(time_to_pb);
        if time.is_none() {
            notes.push(BAD_CREATED_AT_NOTE.to_string());
        }
        time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_their_case_and_spacing() {
        let headers: Vec<String> = [
            "\u{feff}First Name",
            "LASTNAME",
            "e-mail address",
            "Phone_Number",
            "Country/Region",
            "Company Name",
            "Job Title",
            "Lead Source",
            "LeadCreationDateTime",
            "Notes",
        ]
        .map(String::from)
        .to_vec();
        let c = Columns::from_headers(&headers);
        assert_eq!(c.first_name, Some(0));
        assert_eq!(c.last_name, Some(1));
        assert_eq!(c.email, Some(2));
        assert_eq!(c.phone, Some(3));
        assert_eq!(c.country, Some(4));
        assert_eq!(c.company, Some(5));
        assert_eq!(c.title, Some(6));
        assert_eq!(c.lead_source, Some(7));
        assert_eq!(c.created_at, Some(8));
    }

    /// The seeds' export and filter columns, in each language of the portal, reach their
    /// fields; the lead type's values too.
    #[test]
    fn the_seeds_columns_map_in_every_language() {
        let exports: [[&str; 5]; 4] = [
            [
                "Country or region",
                "Customer name",
                "Lead source",
                "Call to action",
                "Lead type",
            ],
            [
                "País o región",
                "Nombre del cliente",
                "Origen de cliente potencial",
                "Llamada a la acción",
                "Tipo de cliente potencial",
            ],
            [
                "País ou região",
                "Nome do cliente",
                "Origem do cliente potencial",
                "Chamada para ação",
                "Tipo de lead",
            ],
            [
                "Страна или регион",
                "Имя клиента",
                "Источник потенциального клиента",
                "Призыв к действию",
                "Тип потенциального клиента",
            ],
        ];
        for names in exports {
            let headers: Vec<String> = names.map(String::from).to_vec();
            let c = Columns::from_headers(&headers);
            assert_eq!(c.country, Some(0), "{names:?}");
            assert_eq!(c.company, Some(1), "{names:?}");
            assert_eq!(c.lead_source, Some(2), "{names:?}");
            assert_eq!(c.call_to_action, Some(3), "{names:?}");
            assert_eq!(c.lead_type, Some(4), "{names:?}");
            let record = csv::StringRecord::from(vec![
                "Brasil",
                "Contoso",
                "AppSource",
                "Free trial",
                "Oferta",
            ]);
            let request = c.request(2, &record, &mut Vec::new());
            let request: pb::AssessLeadRequest = prost::Message::decode(request.bytes).unwrap();
            let lead = request.lead.unwrap();
            assert_eq!(lead.company, "Contoso");
            assert_eq!(lead.call_to_action, "Free trial");
            assert_eq!(lead.lead_type(), pb::LeadType::Offer);
        }
        for (text, want) in [
            ("Offer", pb::LeadType::Offer),
            ("Perfil", pb::LeadType::Profile),
            ("Профиль", pb::LeadType::Profile),
            ("Предложение", pb::LeadType::Offer),
            ("", pb::LeadType::Unspecified),
            ("other", pb::LeadType::Unspecified),
        ] {
            assert_eq!(lead_type_of(text), want, "{text}");
        }
        // One table, no name twice for different fields.
        for (i, (name, field)) in HEADERS.iter().enumerate() {
            assert_eq!(header_key(name), *name, "{name} is not folded");
            assert!(
                HEADERS[..i].iter().all(|(n, f)| n != name || f == field),
                "{name} maps to two fields"
            );
        }
    }
}
