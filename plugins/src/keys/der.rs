//! Just enough DER to unwrap an RSA key: the store keeps PKCS#8, while some libraries
//! (`jsonwebtoken`'s `EncodingKey::from_rsa_der`, `openidconnect`'s RSA signing key) want the
//! PKCS#1 `RSAPrivateKey` inside it.

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// 1.2.840.113549.1.1.1 (rsaEncryption).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` of an RSA key; None if `pkcs8`
/// is not one. Borrowed from the input: no copy of the secret is made.
pub fn rsa_pkcs1_from_pkcs8(pkcs8: &[u8]) -> Option<&[u8]> {
    let (info, rest) = tlv(pkcs8, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (version, info) = tlv(info, INTEGER)?;
    if version != [0] && version != [1] {
        return None;
    }
    let (algorithm, info) = tlv(info, SEQUENCE)?;
    let (oid, _params) = tlv(algorithm, OID)?;
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (private_key, _attributes) = tlv(info, OCTET_STRING)?;
    // The content must itself be one DER SEQUENCE (RSAPrivateKey).
    match tlv(private_key, SEQUENCE)? {
        (_, []) => Some(private_key),
        _ => None,
    }
}

/// Reads one tag-length-value with the expected tag; returns (value, rest).
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, input) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, input) = input.split_first()?;
    let (len, input) = if len_byte < 0x80 {
        (usize::from(len_byte), input)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 4 || input.len() < count {
            return None;
        }
        let (len_bytes, input) = input.split_at(count);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, input)
    };
    if input.len() < len {
        return None;
    }
    Some(input.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_gives_none() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x03, 0x02, 0x01, 0x00],
            &[0x30, 0x80],
            &[0x04, 0x00],
        ] {
            assert_eq!(rsa_pkcs1_from_pkcs8(input), None, "{input:?}");
        }
    }
}
