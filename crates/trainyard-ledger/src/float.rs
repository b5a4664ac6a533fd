//! JSON has no NaN or infinity, but a diverging run produces them and the
//! ledger must keep them: non-finite numbers are written as the strings
//! `"NaN"`, `"inf"` and `"-inf"`, finite ones as numbers.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Number {
    Finite(f64),
    Text(String),
}

fn to_number(value: f64) -> Number {
    if value.is_nan() {
        Number::Text("NaN".to_owned())
    } else if value.is_infinite() {
        Number::Text(if value > 0.0 { "inf" } else { "-inf" }.to_owned())
    } else {
        Number::Finite(value)
    }
}

fn from_number<E: serde::de::Error>(number: Number) -> Result<f64, E> {
    match number {
        Number::Finite(value) => Ok(value),
        Number::Text(text) => match text.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "+inf" | "Infinity" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(E::custom(format!(
                "expected a number, \"NaN\", \"inf\" or \"-inf\", found \"{other}\""
            ))),
        },
    }
}

pub mod map {
    use std::collections::BTreeMap;

    use super::{Deserialize, Deserializer, Number, Serializer, from_number, to_number};

    pub fn serialize<S: Serializer>(
        values: &BTreeMap<String, f64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(values.iter().map(|(key, value)| (key, to_number(*value))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, f64>, D::Error> {
        BTreeMap::<String, Number>::deserialize(deserializer)?
            .into_iter()
            .map(|(key, number)| Ok((key, from_number(number)?)))
            .collect()
    }
}

pub mod series {
    use std::collections::BTreeMap;

    use super::{Deserialize, Deserializer, Number, Serializer, from_number, to_number};

    type Series = BTreeMap<String, Vec<(u64, f64)>>;

    pub fn serialize<S: Serializer>(series: &Series, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(series.iter().map(|(key, points)| {
            let points: Vec<(u64, Number)> = points
                .iter()
                .map(|(step, value)| (*step, to_number(*value)))
                .collect();
            (key, points)
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Series, D::Error> {
        BTreeMap::<String, Vec<(u64, Number)>>::deserialize(deserializer)?
            .into_iter()
            .map(|(key, points)| {
                let points = points
                    .into_iter()
                    .map(|(step, number)| Ok((step, from_number(number)?)))
                    .collect::<Result<Vec<_>, D::Error>>()?;
                Ok((key, points))
            })
            .collect()
    }
}

pub mod duration {
    use std::time::Duration;

    use super::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Metrics {
        #[serde(with = "super::map")]
        values: BTreeMap<String, f64>,
        #[serde(with = "super::series")]
        series: BTreeMap<String, Vec<(u64, f64)>>,
    }

    #[test]
    fn non_finite_values_survive_json_and_finite_ones_stay_numbers() {
        let metrics = Metrics {
            values: BTreeMap::from([
                ("a".to_owned(), 0.1),
                ("b".to_owned(), f64::NAN),
                ("c".to_owned(), f64::NEG_INFINITY),
            ]),
            series: BTreeMap::from([("loss".to_owned(), vec![(1, 0.5), (2, f64::INFINITY)])]),
        };
        let json = serde_json::to_value(&metrics).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "values": {"a": 0.1, "b": "NaN", "c": "-inf"},
                "series": {"loss": [[1, 0.5], [2, "inf"]]}
            })
        );
        let back: Metrics = serde_json::from_value(json).unwrap();
        assert!(back.values["b"].is_nan());
        assert!(back.values["c"].is_infinite() && back.values["c"] < 0.0);
        assert!(back.series["loss"][1].1.is_infinite() && back.series["loss"][1].1 > 0.0);

        let wrong = serde_json::json!({"values": {"a": "fast"}, "series": {}});
        let error = serde_json::from_value::<Metrics>(wrong).unwrap_err();
        assert!(error.to_string().contains("\"fast\""), "{error}");
    }
}
