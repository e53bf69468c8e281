//! `--resume`: what an earlier run already wrote (whole rows only), read back so the run
//! carries on after it and skips the rows it filtered out.

use super::input::{parse_time, Row};
use super::output::{OUTPUT_BUFFER, OUTPUT_COLUMNS};
use super::{BatchArgs, BatchError, Filter, ResumeError};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::Path;
use std::time::SystemTime;

/// The rows an earlier run already wrote (`--resume`), which the reader passes over
/// unsent.
pub(super) enum Skip {
    /// Nothing to skip.
    Nothing,
    /// CSV: the output's rows, read back one by one and matched with the input's rows;
    /// with `gaps`, an input row that matches none was left out then (a duplicate dropped,
    /// or a row a filter left out).
    Csv {
        written: Box<csv::Reader<io::Take<File>>>,
        next: csv::ByteRecord,
        matched: u64,
        gaps: bool,
    },
    /// JSON Lines: every input line up to this one is out (the last `requestId`).
    Through(u64),
}

impl Skip {
    /// Starts matching the output's rows (after its header) with the input's.
    fn csv(mut written: csv::Reader<io::Take<File>>, gaps: bool) -> Result<Skip, ResumeError> {
        let mut next = csv::ByteRecord::new();
        let more = written
            .read_byte_record(&mut next)
            .map_err(|e| ResumeError::Read(e.into()))?;
        Ok(if more {
            Skip::Csv {
                written: Box::new(written),
                next,
                matched: 0,
                gaps,
            }
        } else {
            Skip::Nothing
        })
    }

    /// Whether `row` is already out: matched with the next written row (or, with gaps,
    /// left out then). An error when the rows written are not this input's.
    pub(super) fn passes(&mut self, row: &Row, width: usize) -> Result<bool, ResumeError> {
        let (written, next, matched, gaps) = match self {
            Skip::Nothing => return Ok(false),
            Skip::Through(through) => return Ok(row.line <= *through),
            Skip::Csv {
                written,
                next,
                matched,
                gaps,
            } => (written, next, matched, gaps),
        };
        if !written_as(row, width, next) {
            if *gaps {
                return Ok(true);
            }
            return Err(ResumeError::Mismatch {
                row: *matched + 1,
                line: row.line,
            });
        }
        *matched += 1;
        let more = written
            .read_byte_record(next)
            .map_err(|e| ResumeError::Read(e.into()))?;
        if !more {
            *self = Skip::Nothing;
        }
        Ok(true)
    }

    /// At the end of the input: an error if rows written were never matched.
    pub(super) fn finish(&self) -> Result<(), ResumeError> {
        match self {
            Skip::Csv { matched, .. } => Err(ResumeError::InputShort { rows: *matched }),
            _ => Ok(()),
        }
    }
}

/// Whether `written` is how the output writes `row`: its fields, padded to the header's
/// width, then the verdict columns.
pub(super) fn written_as(row: &Row, width: usize, written: &csv::ByteRecord) -> bool {
    let fields = row.raw.len().max(width);
    written.len() == fields + OUTPUT_COLUMNS.len()
        && (0..fields).all(|i| row.raw.get(i).unwrap_or("").as_bytes() == &written[i])
}

/// The length of the complete rows at the start of an output: up to its last line end
/// outside quotes (CSV, as the csv crate writes it: a quote inside a field is doubled, so
/// quotes pair up) or its last line end (JSON Lines). What follows is a torn row.
pub(super) fn complete_prefix(mut out: impl Read, csv: bool) -> io::Result<u64> {
    let mut buf = vec![0; OUTPUT_BUFFER];
    let (mut offset, mut keep, mut quoted) = (0u64, 0u64, false);
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) => return Ok(keep),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for (i, &byte) in buf[..n].iter().enumerate() {
            match byte {
                b'"' if csv => quoted = !quoted,
                b'\n' if !quoted => keep = offset + i as u64 + 1,
                _ => {}
            }
        }
        offset += n as u64;
    }
}

/// What an earlier run left in the output, for `--resume`.
pub(super) struct Resumed {
    /// Rows kept, the header not counted.
    pub(super) rows: u64,
    /// Hashes of the dedup keys written, for `--dedup`.
    pub(super) seen: HashSet<u64>,
    /// Where the input's rows that are already out are passed over.
    pub(super) skip: Skip,
    /// The moment the rows written were assessed at, where the output says it (JSON Lines'
    /// `assessedAt`).
    pub(super) assessed_at: Option<SystemTime>,
}

/// Reads back the complete rows of an output that `--resume` carries on, the first
/// `keep` bytes: checks the CSV header is `header`, counts the rows, notes their dedup
/// keys, and says which input rows they are.
pub(super) fn read_back(
    path: &Path,
    keep: u64,
    header: Option<&[String]>,
    gaps: bool,
    hasher: &RandomState,
) -> Result<Resumed, ResumeError> {
    let open = || {
        File::open(path)
            .map(|f| f.take(keep))
            .map_err(ResumeError::Read)
    };
    let mut seen = HashSet::new();
    let mut rows = 0;
    let Some(header) = header else {
        // JSON Lines: each answer echoes its input line as its request id.
        let mut through = 0;
        let mut assessed_at = None;
        for line in BufReader::new(open()?).split(b'\n') {
            let line = line.map_err(ResumeError::Read)?;
            rows += 1;
            let answer: serde_json::Value = serde_json::from_slice(&line)
                .map_err(|_| ResumeError::NoRequestId { line: rows })?;
            through = answer["requestId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or(ResumeError::NoRequestId { line: rows })?;
            if let Some(key) = answer["dedupKey"].as_str().filter(|k| !k.is_empty()) {
                seen.insert(hasher.hash_one(key.as_bytes()));
            }
            assessed_at = answer["assessedAt"].as_str().and_then(parse_time);
        }
        return Ok(Resumed {
            rows,
            seen,
            skip: Skip::Through(through),
            assessed_at,
        });
    };
    let reader = |input| csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let mut written = reader(open()?);
    let headers = written
        .byte_headers()
        .map_err(|e| ResumeError::Read(e.into()))?;
    let expected = header.iter().map(String::as_str).chain(OUTPUT_COLUMNS);
    if !headers.iter().eq(expected.map(str::as_bytes)) {
        return Err(ResumeError::Header);
    }
    let mut record = csv::ByteRecord::new();
    while written
        .read_byte_record(&mut record)
        .map_err(|e| ResumeError::Read(e.into()))?
    {
        rows += 1;
        if let Some(key) = record
            .get(record.len().wrapping_sub(1))
            .filter(|k| !k.is_empty())
        {
            seen.insert(hasher.hash_one(key));
        }
    }
    // Read again as the input is read: each row written is matched with the input's.
    let skip = Skip::csv(reader(open()?), gaps)?;
    Ok(Resumed {
        rows,
        seen,
        skip,
        assessed_at: None,
    })
}

/// Opens the output: a new file, stdout, or with `--resume` the file an earlier run
/// wrote, its torn last row cut off, to append to. `header` is the CSV header it must
/// have (None for JSON Lines). With nothing complete in it, the run starts afresh.
pub(super) fn open_output(
    args: &BatchArgs,
    header: Option<&[String]>,
    hasher: &RandomState,
) -> Result<(Box<dyn Write + Send>, Option<Resumed>), BatchError> {
    let path = &args.output;
    let shown = path.display().to_string();
    let output = |source| BatchError::Output {
        path: shown.clone(),
        source,
    };
    let resume = |source| BatchError::Resume {
        path: shown.clone(),
        source,
    };
    if path.as_os_str() == "-" {
        if args.resume {
            return Err(resume(ResumeError::Stdout));
        }
        return Ok((Box::new(io::stdout()), None));
    }
    if !args.resume {
        return Ok((Box::new(File::create(path).map_err(output)?), None));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(output)?;
    let keep =
        complete_prefix(&mut file, header.is_some()).map_err(|e| resume(ResumeError::Read(e)))?;
    let resumed = if keep == 0 {
        None
    } else {
        let gaps = args.dedup || Filter::of(args).any();
        Some(read_back(path, keep, header, gaps, hasher).map_err(resume)?)
    };
    file.set_len(keep).map_err(output)?;
    file.seek(io::SeekFrom::End(0)).map_err(output)?;
    Ok((Box::new(file), resumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A torn last row is cut off: CSV up to the last line end outside quotes (a field
    /// may hold line ends), JSON Lines up to the last line end.
    #[test]
    fn the_complete_prefix_ends_at_the_last_whole_row() {
        let csv = |text: &str| complete_prefix(text.as_bytes(), true).unwrap();
        assert_eq!(csv(""), 0);
        assert_eq!(csv("h,i"), 0);
        assert_eq!(csv("h,i\n"), 4);
        assert_eq!(csv("h,i\na,1\nb,"), 8);
        assert_eq!(csv("h,i\na,\"two\nlines"), 4);
        assert_eq!(csv("h,i\na,\"two\nlines\"\n"), 18);
        assert_eq!(csv("h,i\na,\"say \"\"hi\"\"\n\"\nb"), 20);
        let jsonl = |text: &str| complete_prefix(text.as_bytes(), false).unwrap();
        assert_eq!(jsonl("{\"a\":\"\\\"\"}\n{\"b"), 11);
        // Bigger than the read buffer, the tear in the second block.
        let big = "x,\"1\n2\"\n".repeat(OUTPUT_BUFFER / 4) + "y,\"";
        assert_eq!(csv(&big), (big.len() - 3) as u64);
    }
}
