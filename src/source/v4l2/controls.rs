//! V4L2 controls (brightness, exposure, focus, power-line frequency, the mirrors): listed for
//! `pistream devices`, set from `--control NAME=VALUE` when a camera opens. Names are the
//! driver's own, lower-cased with every other character an underscore, as `v4l2-ctl` prints
//! them (`Exposure Time, Absolute` is `exposure_time_absolute`); a value is a number, on/off
//! for a switch, or a menu item's number or name. Everything the driver says is read
//! defensively (unknown types, names that are not UTF-8): a camera cannot make this panic.

use std::fmt::{self, Write};

use super::device::Device;

/// `V4L2_CID_HFLIP` and `V4L2_CID_VFLIP`.
pub const HFLIP: u32 = 0x0098_0914;
pub const VFLIP: u32 = 0x0098_0915;

/// What kind of value a control takes.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Integer,
    Boolean,
    /// Items by index: names (`Menu`) or numbers (`IntegerMenu`, as text).
    Menu(Vec<(i64, String)>),
    Button,
    /// A type `--control` cannot set (64-bit, strings, compound, class headings).
    Other(u32),
}

/// One control of a device.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlInfo {
    pub id: u32,
    /// The driver's name for it.
    pub name: String,
    /// The name `--control` takes.
    pub key: String,
    pub kind: Kind,
    pub min: i64,
    pub max: i64,
    pub step: u64,
    pub default: i64,
    /// The value now, when it could be read.
    pub value: Option<i64>,
    /// Disabled, read-only or inactive (set by another control), as the driver says.
    pub writable: bool,
}

/// `--control NAME=VALUE`, checked for its shape only: names and values are checked against
/// the camera when it opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlSetting {
    pub name: String,
    pub value: String,
}

impl ControlSetting {
    pub fn parse(text: &str) -> Result<ControlSetting, String> {
        match text.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Ok(ControlSetting { name: key_of(name), value: value.trim().to_string() })
            }
            _ => Err(format!(
                "--control '{text}': give NAME=VALUE, e.g. --control brightness=150 (`pistream devices` lists \
                 each camera's controls)"
            )),
        }
    }
}

/// A driver's control name as `--control` takes it.
pub fn key_of(name: &str) -> String {
    let mut key = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// Every control of `device`, in the driver's order.
pub fn list(device: &Device) -> std::io::Result<Vec<ControlInfo>> {
    const CLASS: u32 = 6;
    let mut out = Vec::new();
    let mut id = 0;
    // A driver that never says "no more" cannot keep us here: at most 1024 controls.
    for _ in 0..1024 {
        let Some(query) = device.next_control(id)? else { break };
        id = query.id;
        if query.type_ == CLASS {
            continue;
        }
        let name = c_text(&query.name);
        let kind = match query.type_ {
            1 => Kind::Integer,
            2 => Kind::Boolean,
            3 | 9 => Kind::Menu(menu(device, &query)),
            4 => Kind::Button,
            other => Kind::Other(other),
        };
        const DISABLED: u32 = 0x0001;
        const READ_ONLY: u32 = 0x0004;
        const INACTIVE: u32 = 0x0010;
        let readable = matches!(kind, Kind::Integer | Kind::Boolean | Kind::Menu(_));
        out.push(ControlInfo {
            id: query.id,
            key: key_of(&name),
            name,
            kind,
            min: query.minimum,
            max: query.maximum,
            step: query.step,
            default: query.default_value,
            value: if readable { device.control(query.id).ok().map(i64::from) } else { None },
            writable: query.flags & (DISABLED | READ_ONLY | INACTIVE) == 0,
        });
    }
    Ok(out)
}

fn c_text(bytes: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = bytes.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn menu(device: &Device, query: &v4l::v4l_sys::v4l2_query_ext_ctrl) -> Vec<(i64, String)> {
    // At most 256 items: a driver's range cannot make this loop for long.
    let first = query.minimum.max(0);
    (first..=query.maximum.min(first + 255))
        .filter_map(|index| {
            let item = device.menu_item(query.id, index as u32)?;
            // SAFETY: VIDIOC_QUERYMENU fills `name` for menu controls (type 3) and `value`
            // for integer menus (type 9); both members are plain data, and the packed
            // struct's `value` is read unaligned.
            let text = unsafe {
                if query.type_ == 9 {
                    std::ptr::addr_of!(item.__bindgen_anon_1.value).read_unaligned().to_string()
                } else {
                    let name = item.__bindgen_anon_1.name;
                    c_text(&name.map(|b| b as std::os::raw::c_char))
                }
            };
            Some((index, text))
        })
        .collect()
}

/// The value `setting` asks `control` to take, checked against its kind and range.
pub fn value_for(control: &ControlInfo, setting: &ControlSetting) -> Result<i32, String> {
    let text = setting.value.as_str();
    let bad = |what: String| Err(format!("--control {}={text}: {what}", control.key));
    if !control.writable {
        return bad(format!(
            "{} cannot be set now (read-only, disabled, or set by another control)",
            control.name
        ));
    }
    let value: i64 = match &control.kind {
        Kind::Boolean => match text {
            "1" | "on" | "true" | "yes" => 1,
            "0" | "off" | "false" | "no" => 0,
            _ => return bad("give on or off".into()),
        },
        Kind::Integer => match text.parse::<i64>() {
            Ok(v) => v,
            Err(_) => return bad(format!("give a whole number from {} to {}", control.min, control.max)),
        },
        Kind::Menu(items) => {
            let wanted = key_of(text);
            match items.iter().find(|(index, name)| key_of(name) == wanted || index.to_string() == text) {
                Some((index, _)) => *index,
                None => {
                    let names: Vec<String> =
                        items.iter().map(|(i, n)| format!("{i} ({})", key_of(n))).collect();
                    return bad(format!("use one of {}", names.join(", ")));
                }
            }
        }
        Kind::Button => 1,
        Kind::Other(kind) => return bad(format!("controls of type {kind} cannot be set with --control")),
    };
    if !(control.min..=control.max).contains(&value) {
        return bad(format!("outside {}..={}", control.min, control.max));
    }
    i32::try_from(value).or_else(|_| bad("too large".into()))
}

/// Sets every `--control` on `device`; an unknown name lists the ones it has. Returns the
/// ids of the controls it set.
pub fn apply(device: &Device, device_name: &str, settings: &[ControlSetting]) -> Result<Vec<u32>, String> {
    if settings.is_empty() {
        return Ok(Vec::new());
    }
    let mut set = Vec::new();
    let controls = list(device).map_err(|e| format!("{device_name}: listing its controls: {e}"))?;
    for setting in settings {
        let Some(control) = controls.iter().find(|c| c.key == setting.name) else {
            let names: Vec<&str> = controls.iter().filter(|c| c.writable).map(|c| c.key.as_str()).collect();
            return Err(format!(
                "--control {}: {device_name} has no such control; it has {}",
                setting.name,
                if names.is_empty() { "none that can be set".to_string() } else { names.join(", ") }
            ));
        };
        let value = value_for(control, setting)?;
        let kept = device.set_control(control.id, value).map_err(|e| {
            format!("--control {}={}: {device_name} refused it: {e}", setting.name, setting.value)
        })?;
        log::info!("{device_name}: {} = {kept}", control.key);
        set.push(control.id);
    }
    Ok(set)
}

/// `pistream devices`' line for a control.
impl fmt::Display for ControlInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = format!("{:<28}", self.key);
        match &self.kind {
            Kind::Integer => {
                let _ = write!(line, " int   {}..{}", self.min, self.max);
                if self.step > 1 {
                    let _ = write!(line, " step {}", self.step);
                }
            }
            Kind::Boolean => line.push_str(" bool  on/off"),
            Kind::Menu(items) => {
                let names: Vec<String> = items.iter().map(|(i, n)| format!("{i}={}", key_of(n))).collect();
                let _ = write!(line, " menu  {}", names.join(" "));
            }
            Kind::Button => line.push_str(" button"),
            Kind::Other(kind) => {
                let _ = write!(line, " (type {kind}, not settable)");
            }
        }
        if !matches!(self.kind, Kind::Button | Kind::Other(_)) {
            let _ = write!(line, ", default {}", self.default);
            if let Some(value) = self.value {
                let _ = write!(line, ", now {value}");
            }
        }
        if !self.writable {
            line.push_str(" (cannot be set now)");
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(kind: Kind) -> ControlInfo {
        ControlInfo {
            id: 1,
            name: "Power Line Frequency".into(),
            key: "power_line_frequency".into(),
            kind,
            min: 0,
            max: 2,
            step: 1,
            default: 1,
            value: Some(1),
            writable: true,
        }
    }

    #[test]
    fn names_follow_v4l2_ctl() {
        assert_eq!(key_of("Exposure Time, Absolute"), "exposure_time_absolute");
        assert_eq!(key_of("White Balance Temperature, Auto"), "white_balance_temperature_auto");
        assert_eq!(key_of("  Brightness "), "brightness");
        assert_eq!(ControlSetting::parse("Power Line Frequency=50 Hz").unwrap().name, "power_line_frequency");
        assert!(ControlSetting::parse("brightness").unwrap_err().contains("NAME=VALUE"));
        assert!(ControlSetting::parse("=3").is_err());
    }

    #[test]
    fn values_are_checked_against_the_control() {
        let menu =
            control(Kind::Menu(vec![(0, "Disabled".into()), (1, "50 Hz".into()), (2, "60 Hz".into())]));
        let set = |value: &str| ControlSetting { name: "power_line_frequency".into(), value: value.into() };
        assert_eq!(value_for(&menu, &set("50 Hz")), Ok(1));
        assert_eq!(value_for(&menu, &set("50_hz")), Ok(1));
        assert_eq!(value_for(&menu, &set("2")), Ok(2));
        assert!(value_for(&menu, &set("70 Hz")).unwrap_err().contains("1 (50_hz)"));
        let int = control(Kind::Integer);
        assert_eq!(value_for(&int, &set("2")), Ok(2));
        assert!(value_for(&int, &set("3")).unwrap_err().contains("outside 0..=2"));
        assert!(value_for(&int, &set("x")).unwrap_err().contains("whole number"));
        let switch = control(Kind::Boolean);
        assert_eq!(value_for(&switch, &set("on")), Ok(1));
        assert!(value_for(&switch, &set("maybe")).is_err());
        let locked = ControlInfo { writable: false, ..control(Kind::Integer) };
        assert!(value_for(&locked, &set("1")).unwrap_err().contains("cannot be set"));
        assert!(value_for(&control(Kind::Other(5)), &set("1")).is_err());
    }
}
