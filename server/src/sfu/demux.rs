//! Which peer a packet from an unknown address is for. Only a STUN binding request can open a route
//! (ICE proves the address before anything else is accepted from it), and its USERNAME names our side's
//! ICE ufrag, so the lookup is one hash-map probe whatever the number of peers; anything else from an
//! unknown address is dropped without touching a peer.

/// STUN's magic cookie (RFC 5389 §6).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// The USERNAME attribute.
const USERNAME: u16 = 0x0006;
/// A STUN header: type, length, cookie, transaction ID.
const HEADER: usize = 20;

/// Our ufrag from a STUN binding request's USERNAME (`ours:theirs`), or None for anything else.
pub(crate) fn local_ufrag(data: &[u8]) -> Option<&str> {
    let header = data.get(..HEADER)?;
    // A binding request: class bits 00 and method 0x001.
    if header[..2] != [0x00, 0x01] || header[4..8] != MAGIC_COOKIE {
        return None;
    }
    let mut attributes = data.get(HEADER..)?;
    while attributes.len() >= 4 {
        let kind = u16::from_be_bytes([attributes[0], attributes[1]]);
        let len = usize::from(u16::from_be_bytes([attributes[2], attributes[3]]));
        let value = attributes.get(4..4 + len)?;
        if kind == USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split_once(':').map(|(ours, _)| ours);
        }
        // Attributes are padded to four bytes.
        attributes = attributes.get(4 + len.next_multiple_of(4)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attributes {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        let mut p = vec![0x00, 0x01];
        p.extend_from_slice(&(body.len() as u16).to_be_bytes());
        p.extend_from_slice(&MAGIC_COOKIE);
        p.extend_from_slice(&[7; 12]);
        p.extend_from_slice(&body);
        p
    }

    #[test]
    fn finds_our_ufrag_after_other_attributes() {
        let p = request(&[(0x8029, b"12345678"), (USERNAME, b"srv1:cli")]);
        assert_eq!(local_ufrag(&p), Some("srv1"));
    }

    #[test]
    fn anything_else_names_no_one() {
        assert_eq!(local_ufrag(&[]), None);
        assert_eq!(local_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(local_ufrag(&[0x16; 40]), None, "DTLS");
        let mut response = request(&[(USERNAME, b"a:b")]);
        response[0] = 0x01; // a binding success response
        assert_eq!(local_ufrag(&response), None);
        assert_eq!(local_ufrag(&request(&[(USERNAME, b"no-colon")])), None);
        let truncated = request(&[(USERNAME, b"abcd:efgh")]);
        for n in 0..truncated.len() {
            let _ = local_ufrag(&truncated[..n]);
        }
        let mut lying = request(&[(USERNAME, b"ab:cd")]);
        lying[22..24].copy_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(local_ufrag(&lying), None);
    }
}
