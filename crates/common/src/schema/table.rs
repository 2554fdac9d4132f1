//! One declaration per Parquet artifact: its file name, its columns with
//! their types and meanings, and a Rust row type, all from one
//! [`table!`](crate::table) invocation.
//!
//! The writer of a table and every reader go through its row type
//! ([`Table::write`], [`Table::read`]); ARCHITECTURE.md's column tables are
//! rendered from the same declaration ([`Table::markdown`]) and a test fails
//! when the document and the code differ. A column's Rust type fixes its
//! Arrow type ([`Column`]): `u8`/`u16`/`u32`/`u64` are unsigned integers,
//! `f64` is float64, `String` utf8, `bool` boolean, `Option<f64>` a nullable
//! float64, `Vec<f64>` a `list<float64>`, and [`FloatImage`] a
//! `fixed_size_list<float32>[784]`. A float column declared `where finite`
//! must hold no NaN or infinity: reading one is an error naming the file,
//! column, row, seed and task.
//!
//! ```
//! use tgsh_common::schema::Table;
//! tgsh_common::table! {
//!     /// `example.parquet`: one row per thing.
//!     pub struct ExampleRow in "example.parquet" {
//!         /// task index
//!         task: u16,
//!         /// fraction correct
//!         accuracy: f64,
//!     }
//! }
//! let dir = std::env::temp_dir().join(format!("tgsh-table-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join(ExampleRow::FILE);
//! let rows = vec![ExampleRow { task: 3, accuracy: 0.5 }];
//! ExampleRow::write(&path, &rows, &Default::default()).unwrap();
//! assert_eq!(ExampleRow::read(&path).unwrap(), rows);
//! assert!(ExampleRow::markdown().contains("| `task` | uint16 | task index |"));
//! # std::fs::remove_dir_all(dir).unwrap();
//! ```

use super::{read_parquet, write_parquet, ParquetTable};
use crate::error::{Error, Result};
use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, PrimitiveArray, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use arrow_array::ArrayRef as ColumnArray;

/// A Rust type that is one Parquet column of the contract.
pub trait Column: Sized + Clone {
    /// The Arrow type of the column.
    fn data_type() -> DataType;
    /// Whether the column may hold nulls.
    fn nullable() -> bool {
        false
    }
    /// The type as ARCHITECTURE.md writes it (`uint16`, `list<float64>`).
    fn type_name() -> String;
    /// Builds the column from one value per row.
    fn to_array(values: Vec<Self>) -> ArrayRef;
    /// Reads the column named `name` of every row of `table`.
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>>;
}

macro_rules! primitive_column {
    ($($rust:ty => $arrow:ty, $name:literal);* $(;)?) => {$(
        impl Column for $rust {
            fn data_type() -> DataType {
                <$arrow as arrow_array::ArrowPrimitiveType>::DATA_TYPE
            }
            fn type_name() -> String {
                $name.into()
            }
            fn to_array(values: Vec<Self>) -> ArrayRef {
                Arc::new(PrimitiveArray::<$arrow>::from(values))
            }
            fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
                table.primitive::<$arrow>(name)
            }
        }
    )*};
}

primitive_column! {
    u8 => arrow_array::types::UInt8Type, "uint8";
    u16 => arrow_array::types::UInt16Type, "uint16";
    u32 => arrow_array::types::UInt32Type, "uint32";
    u64 => arrow_array::types::UInt64Type, "uint64";
    f64 => arrow_array::types::Float64Type, "float64";
}

impl Column for String {
    fn data_type() -> DataType {
        DataType::Utf8
    }
    fn type_name() -> String {
        "utf8".into()
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        Arc::new(StringArray::from(values))
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        table.strings(name)
    }
}

impl Column for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn type_name() -> String {
        "bool".into()
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        Arc::new(BooleanArray::from(values))
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        let mut out = Vec::with_capacity(table.num_rows());
        for batch in &table.batches {
            let column = table.column(batch, name)?;
            let values = column.as_boolean_opt().filter(|v| v.null_count() == 0).ok_or_else(|| {
                Error::schema(
                    &table.path,
                    format!("column `{name}` is not a bool column without nulls"),
                )
            })?;
            out.extend(values.iter().map(|v| v.unwrap_or_default()));
        }
        Ok(out)
    }
}

/// A nullable float64 column: `None` is null (e.g. the parameter of a task
/// that has none).
impl Column for Option<f64> {
    fn data_type() -> DataType {
        DataType::Float64
    }
    fn nullable() -> bool {
        true
    }
    fn type_name() -> String {
        "float64, nullable".into()
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        Arc::new(Float64Array::from(values))
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        let mut out = Vec::with_capacity(table.num_rows());
        for batch in &table.batches {
            let values = table
                .column(batch, name)?
                .as_primitive_opt::<arrow_array::types::Float64Type>()
                .ok_or_else(|| Error::schema(&table.path, format!("column `{name}` is not float64")))?;
            out.extend(values.iter());
        }
        Ok(out)
    }
}

/// A `list<float64>` column (e.g. the per-seed values of a statistic).
impl Column for Vec<f64> {
    fn data_type() -> DataType {
        DataType::List(Arc::new(Field::new("item", DataType::Float64, false)))
    }
    fn type_name() -> String {
        "list<float64>".into()
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        let mut builder =
            ListBuilder::new(Float64Builder::new()).with_field(Arc::new(Field::new("item", DataType::Float64, false)));
        for list in values {
            builder.values().append_slice(&list);
            builder.append(true);
        }
        Arc::new(builder.finish())
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        table.float_lists(name)
    }
}

/// A 28x28 MNIST image, row-major, one byte per pixel:
/// `fixed_size_binary[784]`. (As a list of 784 uint8 values the Parquet
/// writer would encode 55 million values with repetition levels per task and
/// take ~10x longer; numpy reads either kind without a copy.)
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image(pub Vec<u8>);

impl Column for Image {
    fn data_type() -> DataType {
        DataType::FixedSizeBinary(crate::PIXELS as i32)
    }
    fn type_name() -> String {
        format!("fixed_size_binary[{}]", crate::PIXELS)
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        let flat: Vec<u8> = values
            .into_iter()
            .flat_map(|Image(v)| {
                assert_eq!(v.len(), crate::PIXELS, "an image has 784 bytes");
                v
            })
            .collect();
        super::image_column(flat).expect("whole images")
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        if name != "image" {
            return Err(Error::schema(
                &table.path,
                format!("column `{name}` is not an image column"),
            ));
        }
        let flat = table.images()?;
        Ok(flat.chunks_exact(crate::PIXELS).map(|c| Image(c.to_vec())).collect())
    }
}

/// A 28x28 float image, row-major: `fixed_size_list<float32>[784]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatImage(pub Vec<f32>);

impl Column for FloatImage {
    fn data_type() -> DataType {
        DataType::FixedSizeList(
            Arc::new(Field::new("item", DataType::Float32, false)),
            crate::PIXELS as i32,
        )
    }
    fn type_name() -> String {
        format!("fixed_size_list<float32>[{}]", crate::PIXELS)
    }
    fn to_array(values: Vec<Self>) -> ArrayRef {
        let flat: Vec<f32> = values
            .into_iter()
            .flat_map(|FloatImage(v)| {
                assert_eq!(v.len(), crate::PIXELS, "a float image has 784 values");
                v
            })
            .collect();
        Arc::new(FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Float32, false)),
            crate::PIXELS as i32,
            Arc::new(Float32Array::from(flat)),
            None,
        ))
    }
    fn read(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        let flat = table.float_images(name)?;
        Ok(flat
            .chunks_exact(crate::PIXELS)
            .map(|c| FloatImage(c.to_vec()))
            .collect())
    }
}

/// A column type whose values can be required finite (`where finite` in a
/// [`table!`](crate::table)): a NaN or infinity is an error naming the
/// file, the column, the row and its seed, method and task.
pub trait FiniteColumn: Column {
    /// Reads the column, every value finite.
    fn read_finite(table: &ParquetTable, name: &str) -> Result<Vec<Self>>;
}

impl FiniteColumn for f64 {
    fn read_finite(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        table.finite_f64(name)
    }
}

impl FiniteColumn for FloatImage {
    fn read_finite(table: &ParquetTable, name: &str) -> Result<Vec<Self>> {
        let flat = table.finite_float_images(name)?;
        Ok(flat
            .chunks_exact(crate::PIXELS)
            .map(|c| FloatImage(c.to_vec()))
            .collect())
    }
}

/// One column of a table's declaration, for documents and schema checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// The column's name (the row type's field).
    pub name: &'static str,
    /// Its Arrow type.
    pub data_type: DataType,
    /// Whether it may hold nulls.
    pub nullable: bool,
    /// Its type as documents write it.
    pub type_name: String,
    /// What it means.
    pub meaning: String,
}

/// A Parquet artifact declared with [`table!`](crate::table).
pub trait Table: Sized {
    /// The file name, e.g. `metrics.parquet`.
    const FILE: &'static str;
    /// What one row is and where the file lives (the declaration's doc).
    fn description() -> String;
    /// The columns, in order.
    fn columns() -> Vec<ColumnSpec>;
    /// The rows as Arrow columns, in order.
    fn to_columns(rows: &[Self]) -> Vec<ArrayRef>;
    /// The rows of a table read with [`Table::schema`].
    fn from_table(table: &ParquetTable) -> Result<Vec<Self>>;

    /// The Arrow schema.
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(
            Self::columns()
                .into_iter()
                .map(|c| Field::new(c.name, c.data_type, c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// Writes `rows` as the whole file `path`, with key-value `metadata` in
    /// its footer.
    fn write(path: &Path, rows: &[Self], metadata: &BTreeMap<String, String>) -> Result<()> {
        let batch = super::batch(path, Self::schema(), Self::to_columns(rows))?;
        write_parquet(path, &batch, metadata)
    }

    /// Reads every row of `path`, checking its columns against the declaration.
    fn read(path: &Path) -> Result<Vec<Self>> {
        Self::from_table(&read_parquet(path, &Self::schema())?)
    }

    /// Reads every row of `path` and its footer metadata.
    fn read_with_metadata(path: &Path) -> Result<(Vec<Self>, BTreeMap<String, String>)> {
        let table = read_parquet(path, &Self::schema())?;
        Ok((Self::from_table(&table)?, table.metadata))
    }

    /// The declaration as ARCHITECTURE.md shows it: a heading line and a
    /// `| column | type | meaning |` table.
    fn markdown() -> String {
        let mut out = format!(
            "{}\n\n| column | type | meaning |\n|---|---|---|\n",
            Self::description()
        );
        for c in Self::columns() {
            out.push_str(&format!("| `{}` | {} | {} |\n", c.name, c.type_name, c.meaning));
        }
        out
    }
}

/// Joins the lines of a doc comment into one paragraph.
pub fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Declares a Parquet artifact: a row type, its file name, and its
/// columns' meanings (each field's doc comment). See [the module](crate::schema::table).
#[macro_export]
macro_rules! table {
    (
        $(#[doc = $doc:expr])*
        pub struct $row:ident in $file:literal {
            $(
                $(#[doc = $field_doc:expr])*
                $field:ident : $ty:ty $(where $finite:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $row {
            $(
                $(#[doc = $field_doc])*
                pub $field: $ty,
            )*
        }

        impl $crate::schema::Table for $row {
            const FILE: &'static str = $file;

            fn description() -> String {
                $crate::schema::table::doc_text(&[$($doc),*])
            }

            fn columns() -> Vec<$crate::schema::ColumnSpec> {
                use $crate::schema::Column;
                vec![$(
                    $crate::schema::ColumnSpec {
                        name: stringify!($field),
                        data_type: <$ty>::data_type(),
                        nullable: <$ty>::nullable(),
                        type_name: <$ty>::type_name() + $crate::__finite_note!($($finite)?),
                        meaning: $crate::schema::table::doc_text(&[$($field_doc),*]),
                    }
                ),*]
            }

            fn to_columns(rows: &[Self]) -> Vec<$crate::schema::table::ColumnArray> {
                use $crate::schema::Column;
                vec![$(
                    <$ty>::to_array(rows.iter().map(|r| r.$field.clone()).collect())
                ),*]
            }

            fn from_table(table: &$crate::schema::ParquetTable) -> $crate::Result<Vec<Self>> {
                use $crate::schema::Column;
                $(
                    let $field = $crate::__read_column!(table, $field, $ty $(, $finite)?).into_iter();
                )*
                let mut rows = Vec::with_capacity(table.num_rows());
                $crate::__zip_rows!(rows, $row, [$($field),*]);
                Ok(rows)
            }
        }
    };
}

/// Reads one column of a [`table!`], checking it finite where the
/// declaration says `where finite` (an implementation detail of the macro).
#[doc(hidden)]
#[macro_export]
macro_rules! __read_column {
    ($table:ident, $field:ident, $ty:ty) => {
        <$ty>::read($table, stringify!($field))?
    };
    ($table:ident, $field:ident, $ty:ty, finite) => {
        <$ty as $crate::schema::table::FiniteColumn>::read_finite($table, stringify!($field))?
    };
}

/// The type note of a `where finite` column (an implementation detail of
/// the macro).
#[doc(hidden)]
#[macro_export]
macro_rules! __finite_note {
    () => {
        ""
    };
    (finite) => {
        ", finite"
    };
}

/// Zips the column iterators of [`table!`] into rows (an implementation
/// detail of the macro).
#[doc(hidden)]
#[macro_export]
macro_rules! __zip_rows {
    ($rows:ident, $row:ident, [$($field:ident),*]) => {
        #[allow(unused_mut)]
        let ($(mut $field,)*) = ($($field,)*);
        loop {
            $(
                let Some($field) = $field.next() else { break };
            )*
            $rows.push($row { $($field),* });
        }
    };
}
