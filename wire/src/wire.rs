//! Wire encodings the protocols need beyond plain JSON.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// An AWS JSON `double`: a JSON number, or for the non-finite values the strings
/// `"NaN"`, `"Infinity"` and `"-Infinity"` (what botocore sends and expects).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Double(pub f64);

impl Serialize for Double {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v == f64::INFINITY {
            s.serialize_str("Infinity")
        } else if v == f64::NEG_INFINITY {
            s.serialize_str("-Infinity")
        } else {
            s.serialize_f64(v)
        }
    }
}

impl<'de> Deserialize<'de> for Double {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Double, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Double;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or one of \"NaN\", \"Infinity\", \"-Infinity\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Double, E> {
                Ok(Double(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Double, E> {
                Ok(Double(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Double, E> {
                match v {
                    "NaN" => Ok(Double(f64::NAN)),
                    "Infinity" => Ok(Double(f64::INFINITY)),
                    "-Infinity" => Ok(Double(f64::NEG_INFINITY)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// An AWS `timestamp` in the JSON protocols: seconds since the epoch, integer or fractional.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct EpochSeconds(pub f64);

impl EpochSeconds {
    /// Microseconds since the epoch, rounded to the nearest.
    pub fn as_micros(&self) -> i64 {
        (self.0 * 1_000_000.0).round() as i64
    }
}

impl<'de> Deserialize<'de> for EpochSeconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<EpochSeconds, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() {
            return Err(de::Error::custom("timestamp must be a finite number of seconds"));
        }
        Ok(EpochSeconds(v))
    }
}

/// A file sent as a part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FilePart {
    /// The `filename` the client gave, if any.
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Properties (issue 10): the AWS `double` and `timestamp` encodings read back what they write.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Microseconds since the epoch of 0001-01-01 and 10000-01-01 (what SageMaker accepts).
    const MIN_US: i64 = -62_135_596_800_000_000;
    const END_US: i64 = 253_402_300_800_000_000;

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Found by `doubles_round_trip_through_json`: serde_json's default float parsing is off
    /// by one unit in the last place for some shortest representations, so a value read
    /// from a client was stored changed; the workspace enables its `float_roundtrip`.
    #[test]
    fn floats_read_exactly() {
        for v in [-9.017637909805329e115, 0.9851512410883313, 964851816543.2003] {
            let back: Double = serde_json::from_str(&serde_json::to_string(&Double(v)).unwrap()).unwrap();
            assert_eq!(back.0.to_bits(), v.to_bits(), "{v}");
        }
    }

    proptest! {
        #[test]
        fn doubles_round_trip_through_json(v in any::<f64>()) {
            let text = serde_json::to_string(&Double(v)).unwrap();
            let back: Double = serde_json::from_str(&text).unwrap();
            prop_assert!(same(back.0, v), "{} -> {} -> {}", v, text, back.0);
        }

        #[test]
        fn doubles_refuse_other_strings(s in "\\PC{0,12}") {
            let parsed = serde_json::from_value::<Double>(serde_json::Value::String(s.clone()));
            prop_assert_eq!(parsed.is_ok(), matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity"));
        }

        #[test]
        fn epoch_seconds_read_back_micro_and_millisecond_times(us in -(1i64 << 51)..(1i64 << 51), ms in MIN_US / 1000..END_US / 1000) {
            // Seconds with a microsecond fraction: exact to the microsecond within ±71 years of 1970.
            let text = serde_json::to_string(&(us as f64 / 1e6)).unwrap();
            prop_assert_eq!(serde_json::from_str::<EpochSeconds>(&text).unwrap().as_micros(), us, "{}", text);
            // With a millisecond fraction (Python's time()): exact to the millisecond over years 1 to 9999.
            let text = serde_json::to_string(&(ms as f64 / 1e3)).unwrap();
            let got = serde_json::from_str::<EpochSeconds>(&text).unwrap().as_micros();
            prop_assert_eq!((got as f64 / 1e3).round() as i64, ms, "{}", text);
        }

        #[test]
        fn epoch_seconds_refuse_what_is_not_a_number(s in "\\PC{0,12}") {
            let v = serde_json::from_str::<EpochSeconds>(&s);
            if let Ok(t) = v {
                prop_assert!(t.0.is_finite());
                prop_assert!(s.trim().parse::<f64>().is_ok(), "{:?}", s);
            }
        }
    }
}
