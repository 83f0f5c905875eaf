//! An entry of a boot menu as edits see it (what it boots, with which arguments), and
//! [`BootMenu`], the editing interface each config format (isolinux, GRUB) implements.

/// The Xen command line of an entry: the multiboot kernel (Xen), its arguments, the dom0 kernel
/// module and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XenCmdline {
    /// Path of the hypervisor (`/boot/xen.gz`).
    pub xen: String,
    /// Xen's arguments.
    pub xen_args: Vec<String>,
    /// Path of the dom0 kernel (`/boot/vmlinuz`).
    pub kernel: String,
    /// dom0's arguments.
    pub dom0_args: Vec<String>,
}

/// The command line of an entry that boots a Linux kernel directly (GRUB `linux`, isolinux
/// `KERNEL`/`LINUX` of something that is not a `.c32` module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxCmdline {
    /// Path of the kernel.
    pub kernel: String,
    /// Its arguments (for isolinux, every APPEND word, `initrd=` included).
    pub args: Vec<String>,
}

/// What an entry of a boot menu is, as far as edits are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    /// The isolinux LABEL or the GRUB menuentry title.
    pub name: String,
    /// The Xen command line, if the entry boots Xen.
    pub xen: Option<XenCmdline>,
    /// The kernel command line, if the entry boots a Linux kernel without Xen.
    pub linux: Option<LinuxCmdline>,
}

impl EntryView {
    /// The entry's boot kind and what identifies its command line, for matching across menus.
    pub(super) fn boot(&self) -> Option<Boot<'_>> {
        match (&self.xen, &self.linux) {
            (Some(x), _) => Some(Boot::Xen(x)),
            (None, Some(l)) => Some(Boot::Linux(l)),
            (None, None) => None,
        }
    }
}

/// What an entry boots.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Boot<'a> {
    Xen(&'a XenCmdline),
    Linux(&'a LinuxCmdline),
}

/// A boot menu config that can be edited; implemented by [`super::isolinux::IsolinuxCfg`] and
/// [`super::grub::GrubCfg`].
pub trait BootMenu {
    /// The format's error.
    type Error;
    /// How many entries the config has.
    fn entry_count(&self) -> usize;
    /// Entry `idx` (in file order), without building the others.
    fn view(&self, idx: usize) -> Option<EntryView>;
    /// The entries in file order.
    fn entries(&self) -> Vec<EntryView> {
        (0..self.entry_count())
            .filter_map(|i| self.view(i))
            .collect()
    }
    /// Replaces the Xen and dom0 arguments of entry `idx`.
    fn set_args(
        &mut self,
        idx: usize,
        xen_args: &[String],
        dom0_args: &[String],
    ) -> Result<(), Self::Error>;
    /// Replaces the kernel arguments of entry `idx`, which boots Linux without Xen.
    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Self::Error>;
    /// Copies entry `idx` right after itself as `name` (isolinux LABEL) titled `title`; returns
    /// the index of the copy.
    fn duplicate(&mut self, idx: usize, name: &str, title: &str) -> Result<usize, Self::Error>;
    /// Makes entry `idx` the default, in the style the file already uses.
    fn set_default(&mut self, idx: usize) -> Result<(), Self::Error>;
    /// Sets the menu timeout in seconds.
    fn set_timeout(&mut self, seconds: u32) -> Result<(), Self::Error>;
    /// The config as text.
    fn render(&self) -> String;
}
