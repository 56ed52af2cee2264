//! WhatsApp's binary XML (token dictionary v3), enough to read a stanza's header: the list size, the tag and
//! the attributes (RO-TRANSPORT-010; tokens from reference-offer.md C38). Only the tokens the Reference Offer's
//! example and C38 name are known here; any other token is reported as unknown, never guessed.

/// `LIST_EMPTY`.
pub const LIST_EMPTY: u8 = 0;
/// `LIST_8`: a one-byte list size follows.
pub const LIST_8: u8 = 248;
/// `LIST_16`: a two-byte list size follows.
pub const LIST_16: u8 = 249;
/// `JID_PAIR`: user string, then server string.
pub const JID_PAIR: u8 = 250;
/// `HEX_8`: packed hex digits.
pub const HEX_8: u8 = 251;
/// `BINARY_8`: a one-byte length, then raw bytes.
pub const BINARY_8: u8 = 252;
/// `NIBBLE_8`: packed decimal digits, `-` and `.`.
pub const NIBBLE_8: u8 = 255;
/// `DICTIONARY_0`..`DICTIONARY_3` are 236..=239: a second byte indexes that dictionary.
pub const DICTIONARY_0: u8 = 236;
/// `INTEROP_JID` (245): `user ‖ u16 device ‖ u16 integrator ‖ "interop"`.
pub const INTEROP_JID: u8 = 245;

/// The single-byte tokens named by C38.
const SINGLE: [(u8, &str); 8] = [
    (3, "s.whatsapp.net"),
    (4, "type"),
    (6, "from"),
    (8, "id"),
    (17, "to"),
    (19, "message"),
    (24, "notify"),
    (56, "text"),
];

/// The double-byte tokens named by C38: (dictionary, index, token).
const DOUBLE: [(u8, u8, &str); 1] = [(1, 117, "body")];

/// A stanza header: the list size, the tag and as many attributes as the bytes hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Items in the node's list: tag, two per attribute, one for content when present.
    pub list_size: u32,
    /// The tag.
    pub tag: String,
    /// Attributes decoded before the bytes ran out.
    pub attributes: Vec<(String, String)>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| format!("ends at byte {}", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn string(&mut self) -> Result<String, String> {
        let at = self.at;
        let t = self.byte()?;
        match t {
            JID_PAIR => {
                let user = self.string()?;
                let server = self.string()?;
                Ok(format!("{user}@{server}"))
            }
            NIBBLE_8 | HEX_8 => self.packed(t == HEX_8),
            BINARY_8 => {
                let n = usize::from(self.byte()?);
                let raw: Result<Vec<u8>, String> = (0..n).map(|_| self.byte()).collect();
                String::from_utf8(raw?).map_err(|_| format!("BINARY_8 at byte {at} is not UTF-8"))
            }
            DICTIONARY_0..=239 => {
                let index = self.byte()?;
                DOUBLE
                    .iter()
                    .find(|(d, i, _)| *d == t - DICTIONARY_0 && *i == index)
                    .map(|(_, _, s)| s.to_string())
                    .ok_or_else(|| format!("dictionary {} token {index} at byte {at} is not known here", t - 236))
            }
            _ => SINGLE
                .iter()
                .find(|(i, _)| *i == t)
                .map(|(_, s)| s.to_string())
                .ok_or_else(|| format!("token {t} at byte {at} is not known here")),
        }
    }

    fn packed(&mut self, hex: bool) -> Result<String, String> {
        let start = self.byte()?;
        let (odd, n) = (start & 0x80 != 0, usize::from(start & 0x7f));
        let mut out = String::new();
        for k in 0..n {
            let b = self.byte()?;
            for (j, nib) in [b >> 4, b & 0x0f].into_iter().enumerate() {
                if odd && k + 1 == n && j == 1 {
                    break;
                }
                out.push(match (hex, nib) {
                    (true, _) => char::from_digit(u32::from(nib), 16).unwrap_or('?').to_ascii_uppercase(),
                    (false, 0..=9) => char::from(b'0' + nib),
                    (false, 10) => '-',
                    (false, 11) => '.',
                    (false, _) => return Err(format!("nibble {nib} is not a digit, '-' or '.'")),
                });
            }
        }
        Ok(out)
    }
}

/// Decode a stanza header from the start of a binary-XML node.
pub fn decode_header(bytes: &[u8]) -> Result<Header, String> {
    let mut r = Reader { bytes, at: 0 };
    let list_size = match r.byte()? {
        LIST_8 => u32::from(r.byte()?),
        LIST_16 => u32::from(u16::from_be_bytes([r.byte()?, r.byte()?])),
        LIST_EMPTY => 0,
        t => return Err(format!("a node starts with a list token, not {t}")),
    };
    let tag = r.string()?;
    let mut attributes = Vec::new();
    for _ in 0..list_size.saturating_sub(1) / 2 {
        if r.at >= bytes.len() {
            break;
        }
        let key = r.string()?;
        let value = r.string()?;
        attributes.push((key, value));
    }
    Ok(Header {
        list_size,
        tag,
        attributes,
    })
}
