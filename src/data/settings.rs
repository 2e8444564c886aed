//! The settings both importers take, as given on the command line, read and checked once:
//! the economies map, the concordance, the HS vintage, the years, the unit and the rates.

use std::path::PathBuf;

use super::panel::{Rates, Unit, TOTAL};
use super::{DataError, Economies, HsVintage, Products};

/// What the user gave (paths and text, unchecked).
#[derive(Debug, Clone, Default)]
pub struct ImportFiles {
    pub economies: PathBuf,
    pub products: Option<PathBuf>,
    pub default_group: String,
    pub hs: Option<String>,
    pub years: Option<String>,
    pub unit: Option<String>,
    pub rates: Option<PathBuf>,
}

/// The same, read and checked.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    pub economies: Economies,
    pub products: Products,
    pub vintage: Option<HsVintage>,
    pub years: Option<(i32, i32)>,
    pub unit: Option<Unit>,
    pub rates: Rates,
}

fn setting(flag: &str, message: impl Into<String>) -> DataError {
    DataError::Setting {
        flag: flag.to_owned(),
        message: message.into(),
    }
}

/// `2022` or `2019-2022` (`flag` names the setting in errors).
pub fn parse_years(s: &str, flag: &str) -> Result<(i32, i32), DataError> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let y = |t: &str| {
        t.trim()
            .parse::<i32>()
            .map_err(|_| setting(flag, format!("`{s}`: `{t}` is not a year")))
    };
    let (a, b) = (y(a)?, y(b)?);
    if a > b {
        return Err(setting(flag, format!("`{s}`: {a} is after {b}")));
    }
    Ok((a, b))
}

/// A unit given as `flag` (`USD bn`).
pub fn parse_unit(s: Option<&str>, flag: &str) -> Result<Option<Unit>, DataError> {
    s.map(|u| u.parse::<Unit>().map_err(|m| setting(flag, m)))
        .transpose()
}

/// The rates table at `path`, or no rates.
pub fn read_rates(path: Option<&std::path::Path>) -> Result<Rates, DataError> {
    match path {
        Some(p) => Rates::read(p),
        None => Ok(Rates::none()),
    }
}

impl ImportFiles {
    /// The files this import reads besides the data file itself.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut v = vec![self.economies.clone()];
        v.extend(self.products.clone());
        v.extend(self.rates.clone());
        v
    }

    /// Reads and checks every setting.
    pub fn load(&self) -> Result<ImportSettings, DataError> {
        let economies = Economies::read(&self.economies)?;
        let products = match &self.products {
            Some(p) => Products::read(p, &self.default_group)?,
            None => Products::single(TOTAL),
        };
        let vintage = self
            .hs
            .as_deref()
            .map(|h| {
                HsVintage::parse(h).ok_or_else(|| {
                    setting(
                        "--hs",
                        format!("`{h}` is not an HS vintage (HS2017, HS17, H5)"),
                    )
                })
            })
            .transpose()?;
        Ok(ImportSettings {
            economies,
            products,
            vintage,
            years: self
                .years
                .as_deref()
                .map(|y| parse_years(y, "--years"))
                .transpose()?,
            unit: parse_unit(self.unit.as_deref(), "--unit")?,
            rates: read_rates(self.rates.as_deref())?,
        })
    }
}
