//! ISO 4217 minor units: how many fractional digits each current currency code has (LANGUAGE.md §6.1).
//!
//! The table is ISO 4217 List One as in force in 2026: every current code
//! with a number of minor units. Codes with no minor unit ("N.A." in the
//! standard: the precious metals `XAU`, `XAG`, `XPD`, `XPT`, the bond-market
//! units `XBA`..`XBD`, `XDR`, `XSU`, `XUA`, the testing code `XTS` and `XXX`),
//! withdrawn codes (`HRK`, `ANG`, `CUC`, `SLL`, `VEF`, `ZWL`, ...) and codes
//! that were never assigned are not in it: [`minor_units`] answers `None`, and
//! the built-ins that need a unit reject with `INVALID_ARGUMENT` rather than
//! guess.

use crate::{Currency, Fault};

/// Every current ISO 4217 code with a minor unit, sorted by code.
static MINOR_UNITS: &[([u8; 3], u8)] = &[
    (*b"AED", 2),
    (*b"AFN", 2),
    (*b"ALL", 2),
    (*b"AMD", 2),
    (*b"AOA", 2),
    (*b"ARS", 2),
    (*b"AUD", 2),
    (*b"AWG", 2),
    (*b"AZN", 2),
    (*b"BAM", 2),
    (*b"BBD", 2),
    (*b"BDT", 2),
    (*b"BGN", 2),
    (*b"BHD", 3),
    (*b"BIF", 0),
    (*b"BMD", 2),
    (*b"BND", 2),
    (*b"BOB", 2),
    (*b"BOV", 2),
    (*b"BRL", 2),
    (*b"BSD", 2),
    (*b"BTN", 2),
    (*b"BWP", 2),
    (*b"BYN", 2),
    (*b"BZD", 2),
    (*b"CAD", 2),
    (*b"CDF", 2),
    (*b"CHE", 2),
    (*b"CHF", 2),
    (*b"CHW", 2),
    (*b"CLF", 4),
    (*b"CLP", 0),
    (*b"CNY", 2),
    (*b"COP", 2),
    (*b"COU", 2),
    (*b"CRC", 2),
    (*b"CUP", 2),
    (*b"CVE", 2),
    (*b"CZK", 2),
    (*b"DJF", 0),
    (*b"DKK", 2),
    (*b"DOP", 2),
    (*b"DZD", 2),
    (*b"EGP", 2),
    (*b"ERN", 2),
    (*b"ETB", 2),
    (*b"EUR", 2),
    (*b"FJD", 2),
    (*b"FKP", 2),
    (*b"GBP", 2),
    (*b"GEL", 2),
    (*b"GHS", 2),
    (*b"GIP", 2),
    (*b"GMD", 2),
    (*b"GNF", 0),
    (*b"GTQ", 2),
    (*b"GYD", 2),
    (*b"HKD", 2),
    (*b"HNL", 2),
    (*b"HTG", 2),
    (*b"HUF", 2),
    (*b"IDR", 2),
    (*b"ILS", 2),
    (*b"INR", 2),
    (*b"IQD", 3),
    (*b"IRR", 2),
    (*b"ISK", 0),
    (*b"JMD", 2),
    (*b"JOD", 3),
    (*b"JPY", 0),
    (*b"KES", 2),
    (*b"KGS", 2),
    (*b"KHR", 2),
    (*b"KMF", 0),
    (*b"KPW", 2),
    (*b"KRW", 0),
    (*b"KWD", 3),
    (*b"KYD", 2),
    (*b"KZT", 2),
    (*b"LAK", 2),
    (*b"LBP", 2),
    (*b"LKR", 2),
    (*b"LRD", 2),
    (*b"LSL", 2),
    (*b"LYD", 3),
    (*b"MAD", 2),
    (*b"MDL", 2),
    (*b"MGA", 2),
    (*b"MKD", 2),
    (*b"MMK", 2),
    (*b"MNT", 2),
    (*b"MOP", 2),
    (*b"MRU", 2),
    (*b"MUR", 2),
    (*b"MVR", 2),
    (*b"MWK", 2),
    (*b"MXN", 2),
    (*b"MXV", 2),
    (*b"MYR", 2),
    (*b"MZN", 2),
    (*b"NAD", 2),
    (*b"NGN", 2),
    (*b"NIO", 2),
    (*b"NOK", 2),
    (*b"NPR", 2),
    (*b"NZD", 2),
    (*b"OMR", 3),
    (*b"PAB", 2),
    (*b"PEN", 2),
    (*b"PGK", 2),
    (*b"PHP", 2),
    (*b"PKR", 2),
    (*b"PLN", 2),
    (*b"PYG", 0),
    (*b"QAR", 2),
    (*b"RON", 2),
    (*b"RSD", 2),
    (*b"RUB", 2),
    (*b"RWF", 0),
    (*b"SAR", 2),
    (*b"SBD", 2),
    (*b"SCR", 2),
    (*b"SDG", 2),
    (*b"SEK", 2),
    (*b"SGD", 2),
    (*b"SHP", 2),
    (*b"SLE", 2),
    (*b"SOS", 2),
    (*b"SRD", 2),
    (*b"SSP", 2),
    (*b"STN", 2),
    (*b"SVC", 2),
    (*b"SYP", 2),
    (*b"SZL", 2),
    (*b"THB", 2),
    (*b"TJS", 2),
    (*b"TMT", 2),
    (*b"TND", 3),
    (*b"TOP", 2),
    (*b"TRY", 2),
    (*b"TTD", 2),
    (*b"TWD", 2),
    (*b"TZS", 2),
    (*b"UAH", 2),
    (*b"UGX", 0),
    (*b"USD", 2),
    (*b"USN", 2),
    (*b"UYI", 0),
    (*b"UYU", 2),
    (*b"UYW", 4),
    (*b"UZS", 2),
    (*b"VED", 2),
    (*b"VES", 2),
    (*b"VND", 0),
    (*b"VUV", 0),
    (*b"WST", 2),
    (*b"XAF", 0),
    (*b"XCD", 2),
    (*b"XCG", 2),
    (*b"XOF", 0),
    (*b"XPF", 0),
    (*b"YER", 2),
    (*b"ZAR", 2),
    (*b"ZMW", 2),
    (*b"ZWG", 2),
];

/// The number of fractional digits of `c`'s minor unit (USD 2, JPY 0, BHD 3,
/// CLF 4), or `None` for a code with no ISO 4217 minor unit.
pub fn minor_units(c: Currency) -> Option<u32> {
    let i = MINOR_UNITS.binary_search_by(|(code, _)| code.cmp(&c.0)).ok()?;
    MINOR_UNITS.get(i).map(|(_, n)| u32::from(*n))
}

/// As [`minor_units`], but a code with no minor unit is `INVALID_ARGUMENT`
/// naming the built-in that needed it.
pub fn require_minor_units(c: Currency, builtin: &str) -> Result<u32, Fault> {
    minor_units(c).ok_or_else(|| {
        Fault::InvalidArgument(format!("`{builtin}` needs a minor unit, and `{c}` has none in ISO 4217"))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn units(s: &str) -> Option<u32> {
        minor_units(Currency::parse(s).unwrap())
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for w in MINOR_UNITS.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?} before {:?}", w[0].0, w[1].0);
        }
        assert!(MINOR_UNITS.iter().all(|(c, n)| c.iter().all(u8::is_ascii_uppercase) && *n <= 4));
        assert!(MINOR_UNITS.len() > 150);
    }

    #[test]
    fn known_units() {
        for (c, n) in [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("TND", 3)] {
            assert_eq!(units(c), Some(n), "{c}");
        }
        assert_eq!(units("CLF"), Some(4));
        assert_eq!(units("UYW"), Some(4));
        assert_eq!(units("XOF"), Some(0));
        for none in ["XAU", "XAG", "XDR", "XXX", "XTS", "HRK", "ABC", "AAA", "ZZZ"] {
            assert_eq!(units(none), None, "{none}");
        }
    }

    #[test]
    fn missing_unit_is_invalid_argument() {
        let f = require_minor_units(Currency::parse("XAU").unwrap(), "minor_units").unwrap_err();
        assert_eq!(f.code(), "INVALID_ARGUMENT");
        assert_eq!(f.message(), "invalid argument: `minor_units` needs a minor unit, and `XAU` has none in ISO 4217");
    }
}
