//! `update.xml`, the file at the root of a driver disk (and of any XenServer-style update) that
//! names the update: the installer reads `name-label` and `control` from it, xapi the rest.
//!
//! ```xml
//! <?xml version="1.0" ?>
//! <update uuid="..." name-label="intel-igc" version="5.10.214-1" key="" installation-size="123"
//!         after-apply-guidance="restartHost" enforce-homogeneity="false" control="update-intel-igc">
//!   <name-description>Driver disk for intel-igc</name-description>
//! </update>
//! ```

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};

/// Largest `update.xml` accepted when reading: real ones are a few hundred bytes.
pub const MAX_UPDATE_XML: u64 = 64 * 1024;

/// Why an `update.xml` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The XML is malformed.
    #[error("update.xml: malformed XML: {reason}")]
    Malformed {
        /// What the parser said.
        reason: String,
    },
    /// The document element is not `<update>`.
    #[error("update.xml: the document element is <{found}>, not <update>")]
    NotUpdate {
        /// The element found.
        found: String,
    },
    /// A required attribute of `<update>` is missing.
    #[error("update.xml: <update> has no {attribute} attribute")]
    MissingAttribute {
        /// The attribute's name.
        attribute: &'static str,
    },
    /// An attribute has a value of the wrong kind.
    #[error("update.xml: {attribute}={value:?} {problem}")]
    BadValue {
        /// The attribute's name.
        attribute: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// What `update.xml` says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpdateInfo {
    /// `uuid`: identifies the update (and its successive versions).
    pub uuid: String,
    /// `name-label`: the update's name; the installer also installs `update-<name-label>`.
    pub name_label: String,
    /// `version`.
    pub version: String,
    /// `key`: the signing key's id, empty when unsigned.
    pub key: String,
    /// `installation-size`: bytes the packages take once installed.
    pub installation_size: u64,
    /// `after-apply-guidance` (`restartHost` for drivers).
    pub after_apply_guidance: String,
    /// `enforce-homogeneity`: whether every host of a pool must have the update.
    pub enforce_homogeneity: bool,
    /// `control`: the control package the installer installs.
    pub control: String,
    /// The `<name-description>` text.
    pub description: String,
}

impl UpdateInfo {
    /// The document, UTF-8, attributes in a fixed order, ending with a newline.
    pub fn to_xml(&self) -> String {
        format!(
            "<?xml version=\"1.0\" ?>\n<update uuid=\"{}\" name-label=\"{}\" version=\"{}\" \
             key=\"{}\" installation-size=\"{}\" after-apply-guidance=\"{}\" \
             enforce-homogeneity=\"{}\" control=\"{}\">\n  <name-description>{}</name-description>\n</update>\n",
            escape(&self.uuid),
            escape(&self.name_label),
            escape(&self.version),
            escape(&self.key),
            self.installation_size,
            escape(&self.after_apply_guidance),
            self.enforce_homogeneity,
            escape(&self.control),
            escape(&self.description),
        )
    }

    /// Parses an `update.xml` document (at most `MAX_UPDATE_XML` bytes are expected; the
    /// caller limits what it reads). Missing optional attributes (`key`, `installation-size`,
    /// `after-apply-guidance`, `enforce-homogeneity`, `version`) read as empty, zero or false.
    pub fn parse(xml: &[u8]) -> Result<UpdateInfo, Error> {
        let malformed = |e: &dyn std::fmt::Display| Error::Malformed {
            reason: e.to_string(),
        };
        let mut reader = Reader::from_reader(xml);
        let mut buf = Vec::new();
        let mut info: Option<UpdateInfo> = None;
        let mut in_description = false;
        let mut depth = 0usize;
        loop {
            match reader
                .read_event_into(&mut buf)
                .map_err(|e| malformed(&e))?
            {
                Event::Start(e) => {
                    depth += 1;
                    match &mut info {
                        None => info = Some(update_element(&e)?),
                        Some(_) if depth == 2 && e.name().as_ref() == b"name-description" => {
                            in_description = true;
                        }
                        Some(_) => {}
                    }
                }
                Event::Empty(e) if info.is_none() => info = Some(update_element(&e)?),
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    in_description = false;
                }
                Event::Text(t) if in_description => {
                    let text = t.unescape().map_err(|e| malformed(&e))?;
                    if let Some(i) = &mut info {
                        i.description.push_str(&text);
                    }
                }
                Event::CData(t) if in_description => {
                    if let Some(i) = &mut info {
                        i.description.push_str(&String::from_utf8_lossy(&t));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        info.ok_or(Error::Malformed {
            reason: "no document element".into(),
        })
    }
}

/// Reads the attributes of the document element, which must be `<update>`.
fn update_element(e: &BytesStart<'_>) -> Result<UpdateInfo, Error> {
    if e.name().as_ref() != b"update" {
        return Err(Error::NotUpdate {
            found: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
        });
    }
    let mut info = UpdateInfo {
        uuid: String::new(),
        name_label: String::new(),
        version: String::new(),
        key: String::new(),
        installation_size: 0,
        after_apply_guidance: String::new(),
        enforce_homogeneity: false,
        control: String::new(),
        description: String::new(),
    };
    let (mut has_uuid, mut has_name, mut has_control) = (false, false, false);
    for attr in e.attributes() {
        let attr = attr.map_err(|e| Error::Malformed {
            reason: e.to_string(),
        })?;
        let value = attr
            .unescape_value()
            .map_err(|e| Error::Malformed {
                reason: e.to_string(),
            })?
            .into_owned();
        match attr.key.as_ref() {
            b"uuid" => (info.uuid, has_uuid) = (value, true),
            b"name-label" => (info.name_label, has_name) = (value, true),
            b"control" => (info.control, has_control) = (value, true),
            b"version" => info.version = value,
            b"key" => info.key = value,
            b"after-apply-guidance" => info.after_apply_guidance = value,
            b"installation-size" => {
                info.installation_size = value.trim().parse().map_err(|_| Error::BadValue {
                    attribute: "installation-size",
                    value: value.clone(),
                    problem: "is not a number of bytes",
                })?;
            }
            b"enforce-homogeneity" => {
                info.enforce_homogeneity = match value.as_str() {
                    "true" => true,
                    "false" | "" => false,
                    _ => {
                        return Err(Error::BadValue {
                            attribute: "enforce-homogeneity",
                            value,
                            problem: "is neither true nor false",
                        });
                    }
                };
            }
            _ => {}
        }
    }
    for (present, attribute) in [
        (has_uuid, "uuid"),
        (has_name, "name-label"),
        (has_control, "control"),
    ] {
        if !present {
            return Err(Error::MissingAttribute { attribute });
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> UpdateInfo {
        UpdateInfo {
            uuid: "0b5e3c2a-1111-4222-8333-444455556666".into(),
            name_label: "intel-igc".into(),
            version: "5.10.214-1".into(),
            key: String::new(),
            installation_size: 12345,
            after_apply_guidance: "restartHost".into(),
            enforce_homogeneity: false,
            control: "update-intel-igc".into(),
            description: "Intel <igc> & friends \"2.5G\"".into(),
        }
    }

    #[test]
    fn written_document_parses_back() {
        let info = sample();
        let xml = info.to_xml();
        assert!(xml.contains("control=\"update-intel-igc\""), "{xml}");
        assert!(xml.contains("&lt;igc&gt; &amp;"), "{xml}");
        assert_eq!(UpdateInfo::parse(xml.as_bytes()).unwrap(), info);
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(matches!(
            UpdateInfo::parse(b"<comps/>"),
            Err(Error::NotUpdate { .. })
        ));
        assert!(matches!(
            UpdateInfo::parse(b"<update uuid=\"x\" name-label=\"y\"/>"),
            Err(Error::MissingAttribute {
                attribute: "control"
            })
        ));
        assert!(matches!(
            UpdateInfo::parse(
                b"<update uuid=\"x\" name-label=\"y\" control=\"z\" installation-size=\"-1\"/>"
            ),
            Err(Error::BadValue { .. })
        ));
        assert!(UpdateInfo::parse(b"<update uuid=\"x\"").is_err());
        assert!(UpdateInfo::parse(b"").is_err());
    }
}
