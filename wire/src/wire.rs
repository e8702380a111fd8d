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
