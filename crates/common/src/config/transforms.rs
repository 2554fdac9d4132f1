//! The parameters of each transform a task list may name, stated once: the
//! pipeline reference (docs/PIPELINE.md) is rendered from [`PARAMETERS`],
//! and the task list is read through it, so an error names the task, the key
//! and the type wanted (`data.family.tasks[1] (gaussian_blur): kernel =
//! "5" is invalid: need a whole number`) instead of pointing at the whole
//! list. A test binds the table to [`Transform`]'s own fields.

use super::Transform;
use serde::Deserialize;

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// Two numbers, `[low, high]`.
    Range,
    /// A pixel value, 0-255.
    Byte,
}

impl Kind {
    /// How the reference and the errors describe the kind.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Integer => "a whole number",
            Kind::Number => "a number",
            Kind::Range => "two numbers [low, high]",
            Kind::Byte => "a whole number 0-255",
        }
    }

    fn accepts(self, value: &toml::Value) -> bool {
        let number = |v: &toml::Value| v.is_float() || v.is_integer();
        match self {
            Kind::Integer => value.is_integer(),
            Kind::Number => number(value),
            Kind::Range => value.as_array().is_some_and(|a| a.len() == 2 && a.iter().all(number)),
            Kind::Byte => value.as_integer().is_some_and(|v| (0..=255).contains(&v)),
        }
    }
}

/// One parameter of one transform.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    /// The transform's name in TOML.
    pub transform: &'static str,
    /// The key.
    pub key: &'static str,
    /// Its kind.
    pub kind: Kind,
    /// Its default, as TOML; `None` when the key is required.
    pub default: Option<&'static str>,
    /// What it means and what is allowed.
    pub meaning: &'static str,
}

/// Every transform a task may name, with what it does (the `transform` key;
/// `original` is accepted for `identity`).
pub const TRANSFORMS: &[(&str, &str)] = &[
    ("identity", "the original image (the paper's T1)"),
    (
        "rotate",
        "rotation counter-clockwise about the centre, nearest neighbour, fill 0 (torchvision `rotate`)",
    ),
    (
        "shift",
        "periodic shift right by whole pixels (negative: left), wrapping around",
    ),
    (
        "rotate_shift",
        "`rotate` by `degrees`, then `shift` by `pixels` (a task of a torus family, `data.family.torus`)",
    ),
    ("hflip", "mirror left-right"),
    ("vflip", "mirror top-bottom"),
    ("invert", "`255 - pixel`"),
    (
        "gaussian_blur",
        "Gaussian blur with reflect padding (torchvision `gaussian_blur`)",
    ),
    (
        "random_perspective",
        "torchvision `RandomPerspective(distortion, p=1)`, bilinear, fill 0, drawn per image",
    ),
    (
        "random_erasing",
        "torchvision `RandomErasing(p=1, scale, ratio, value)`, drawn per image",
    ),
    (
        "random_resized_crop",
        "torchvision `RandomResizedCrop(28, scale, ratio)`, bilinear, drawn per image",
    ),
];

/// Every parameter of every transform.
pub const PARAMETERS: &[Parameter] = &[
    Parameter {
        transform: "rotate",
        key: "degrees",
        kind: Kind::Number,
        default: None,
        meaning: "angle, counter-clockwise; finite",
    },
    Parameter {
        transform: "shift",
        key: "pixels",
        kind: Kind::Integer,
        default: None,
        meaning: "pixels to the right (negative: left)",
    },
    Parameter {
        transform: "rotate_shift",
        key: "degrees",
        kind: Kind::Number,
        default: None,
        meaning: "angle, counter-clockwise; finite",
    },
    Parameter {
        transform: "rotate_shift",
        key: "pixels",
        kind: Kind::Integer,
        default: None,
        meaning: "pixels to the right after the rotation (negative: left)",
    },
    Parameter {
        transform: "gaussian_blur",
        key: "kernel",
        kind: Kind::Integer,
        default: None,
        meaning: "odd kernel size, 1 to 27 (the paper: 5)",
    },
    Parameter {
        transform: "gaussian_blur",
        key: "sigma",
        kind: Kind::Number,
        default: None,
        meaning: "standard deviation in pixels, > 0 (the paper: 2)",
    },
    Parameter {
        transform: "random_perspective",
        key: "distortion",
        kind: Kind::Number,
        default: Some("0.5"),
        meaning: "distortion scale, 0 to 1",
    },
    Parameter {
        transform: "random_erasing",
        key: "scale",
        kind: Kind::Range,
        default: Some("[0.02, 0.33]"),
        meaning: "range of the erased fraction of the area, within 0 to 1",
    },
    Parameter {
        transform: "random_erasing",
        key: "ratio",
        kind: Kind::Range,
        default: Some("[0.3, 3.3]"),
        meaning: "range of the erased box's aspect ratio, > 0",
    },
    Parameter {
        transform: "random_erasing",
        key: "value",
        kind: Kind::Byte,
        default: Some("0"),
        meaning: "pixel value written into the box",
    },
    Parameter {
        transform: "random_resized_crop",
        key: "scale",
        kind: Kind::Range,
        default: Some("[0.08, 1.0]"),
        meaning: "range of the crop's fraction of the area, within 0 (exclusive) to 1",
    },
    Parameter {
        transform: "random_resized_crop",
        key: "ratio",
        kind: Kind::Range,
        default: Some("[0.75, 1.3333333333333333]"),
        meaning: "range of the crop's aspect ratio, > 0",
    },
];

/// The parameters of `transform`.
pub fn parameters_of(transform: &str) -> impl Iterator<Item = &'static Parameter> + '_ {
    PARAMETERS.iter().filter(move |p| p.transform == transform)
}

/// Reads `data.family.tasks`, one element at a time, so that an error
/// names the element, the key and what it must be.
pub(super) fn deserialize_tasks<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Transform>, D::Error> {
    let elements = Vec::<toml::Value>::deserialize(deserializer)?;
    elements
        .into_iter()
        .enumerate()
        .map(|(i, element)| task(i, element).map_err(serde::de::Error::custom))
        .collect()
}

fn task(i: usize, element: toml::Value) -> Result<Transform, String> {
    let at = format!("data.family.tasks[{i}]");
    let toml::Value::Table(table) = &element else {
        return Err(format!(
            "{at} is {element}: each task is a table, e.g. {{ transform = \"hflip\" }}"
        ));
    };
    let names = || {
        TRANSFORMS
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kind = match table.get("transform") {
        None => return Err(format!("{at} has no `transform` key: give one of {}", names())),
        Some(toml::Value::String(kind)) => kind.as_str(),
        Some(other) => return Err(format!("{at}: transform = {other} is invalid: need one of {}", names())),
    };
    let kind = if kind == "original" { "identity" } else { kind }.to_string();
    let kind = kind.as_str();
    if !TRANSFORMS.iter().any(|(n, _)| *n == kind) {
        return Err(format!("{at}: unknown transform `{kind}`: use one of {}", names()));
    }
    for (key, value) in table.iter().filter(|(k, _)| *k != "transform") {
        let Some(parameter) = parameters_of(kind).find(|p| p.key == key) else {
            let known: Vec<String> = parameters_of(kind).map(|p| format!("`{}`", p.key)).collect();
            return Err(format!(
                "{at} ({kind}): unknown key `{key}`; {kind} takes {}",
                if known.is_empty() {
                    "no parameters".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        if !parameter.kind.accepts(value) {
            return Err(format!(
                "{at} ({kind}): {key} = {value} is invalid: need {}",
                parameter.kind.describe()
            ));
        }
    }
    if let Some(missing) = parameters_of(kind).find(|p| p.default.is_none() && !table.contains_key(p.key)) {
        return Err(format!(
            "{at} ({kind}): `{}` is missing: {}",
            missing.key,
            missing.kind.describe()
        ));
    }
    let message = |e: toml::de::Error| format!("{at} ({kind}): {}", e.message());
    element.clone().try_into().map_err(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table lists exactly each transform's fields, with the defaults
    /// the transform itself has.
    #[test]
    fn the_parameter_table_is_the_transforms_own_fields() {
        for (name, _) in TRANSFORMS {
            // The transform with every required key, all else default.
            let mut table = toml::Table::new();
            table.insert("transform".into(), toml::Value::String(name.to_string()));
            for p in parameters_of(name).filter(|p| p.default.is_none()) {
                let value = match p.kind {
                    Kind::Integer => toml::Value::Integer(5),
                    _ => toml::Value::Float(2.0),
                };
                table.insert(p.key.into(), value);
            }
            let transform: Transform = toml::Value::Table(table).try_into().unwrap();
            let serialised = toml::Value::try_from(&transform).unwrap();
            let mut fields: Vec<&str> = serialised
                .as_table()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "transform")
                .collect();
            fields.sort();
            let mut listed: Vec<&str> = parameters_of(name).map(|p| p.key).collect();
            listed.sort();
            assert_eq!(fields, listed, "{name}");
            for p in parameters_of(name) {
                if let Some(default) = p.default {
                    let want: toml::Value =
                        toml::from_str::<toml::Table>(&format!("v = {default}")).unwrap()["v"].clone();
                    assert_eq!(serialised[p.key], want, "{name}.{} default", p.key);
                }
            }
        }
    }

    fn error(list: &str) -> String {
        let text = format!("[data.family]\nname = \"x\"\ntasks = [{list}]\n");
        super::super::Pipeline::parse("pipelines/t.toml".as_ref(), &text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_element_the_key_and_the_kind_wanted() {
        let e = error(r#"{ transform = "hflip" }, { transform = "shift", pixels = 2.5 }"#);
        assert!(
            e.contains("data.family.tasks[1] (shift): pixels = 2.5 is invalid: need a whole number"),
            "{e}"
        );
        let e = error(r#"{ transform = "gaussian_blur", kernel = "5", sigma = 2.0 }"#);
        assert!(
            e.contains(r#"tasks[0] (gaussian_blur): kernel = "5" is invalid"#),
            "{e}"
        );
        let e = error(r#"{ transform = "gaussian_blur", kernel = 5 }"#);
        assert!(e.contains("`sigma` is missing"), "{e}");
        let e = error(r#"{ transform = "hflip", size = 3 }"#);
        assert!(e.contains("unknown key `size`; hflip takes no parameters"), "{e}");
        let e = error(r#"{ transform = "random_erasing", value = 300 }"#);
        assert!(e.contains("value = 300 is invalid: need a whole number 0-255"), "{e}");
        let e = error(r#"{ transform = "blurr" }"#);
        assert!(
            e.contains("unknown transform `blurr`") && e.contains("`gaussian_blur`"),
            "{e}"
        );
        let e = error(r#""hflip""#);
        assert!(e.contains("each task is a table"), "{e}");
    }
}
