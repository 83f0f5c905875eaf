//! FAT timestamps: a calendar date and time, and its packed on-disk form.

/// A date and time as FAT stores it (local time without zone; 2-second resolution for writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatTime {
    /// 1980..=2107.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

impl FatTime {
    /// The time `secs` seconds after 1970-01-01 00:00:00 UTC (e.g. `SOURCE_DATE_EPOCH`), clamped
    /// to the range FAT can store (1980-01-01 to 2107-12-31).
    pub fn from_unix(secs: i64) -> FatTime {
        const MIN: i64 = 315_532_800; // 1980-01-01
        const MAX: i64 = 4_354_819_199; // 2107-12-31 23:59:59
        let secs = secs.clamp(MIN, MAX);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Civil date from days since the epoch (proleptic Gregorian).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        FatTime {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Checks that every field is in range.
    pub fn is_valid(&self) -> bool {
        (1980..=2107).contains(&self.year)
            && (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    pub(super) fn date(&self) -> u16 {
        ((self.year - 1980) << 9) | (u16::from(self.month) << 5) | u16::from(self.day)
    }

    pub(super) fn time(&self) -> u16 {
        (u16::from(self.hour) << 11) | (u16::from(self.minute) << 5) | u16::from(self.second / 2)
    }

    pub(super) fn tenths(&self) -> u8 {
        (self.second % 2) * 100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_to_fat() {
        let t = FatTime::from_unix(946_684_800); // 2000-01-01
        assert_eq!((t.year, t.month, t.day, t.hour), (2000, 1, 1, 0));
        let t = FatTime::from_unix(1_709_251_199); // 2024-02-29 23:59:59
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2024, 2, 29, 23, 59, 59)
        );
        assert_eq!(FatTime::from_unix(0).year, 1980);
    }
}
