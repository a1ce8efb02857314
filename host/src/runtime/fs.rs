//! The one change kiln makes to WASI's file system: a plugin may open only
//! regular files and directories under `/src`.
//!
//! File reads run on the calling thread (see `sandbox`), so an open that
//! blocks would hold the call past its time bound where no timer can stop
//! it: opening a FIFO blocks until a writer comes, reading a terminal or
//! some devices blocks for input. The target is looked up (without opening
//! it) first, and anything but a regular file, a directory or a symlink
//! left unfollowed is refused with `access` before the open.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, Descriptor, DescriptorFlags, DescriptorType, ErrorCode, HostDescriptor, OpenFlags,
    PathFlags,
};

/// The interface as wasmtime-wasi defines it (plugins importing an older
/// 0.2 version are linked to it by semver).
const INTERFACE: &str = "wasi:filesystem/types@0.2.12";

type OpenArgs = (
    Resource<Descriptor>,
    PathFlags,
    String,
    OpenFlags,
    DescriptorFlags,
);

/// Replaces `descriptor.open-at` in `linker` (which already holds
/// wasmtime-wasi's file system) by one that refuses special files.
pub(super) fn refuse_special_files<T: WasiFilesystemView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(INTERFACE)?.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store, (dir, path_flags, path, oflags, flags): OpenArgs| {
            Box::new(async move {
                let mut view = store.data_mut().filesystem();
                let borrowed = Resource::<Descriptor>::new_borrow(dir.rep());
                // A failed lookup is left for the open to report as it would.
                if let Ok(stat) = view.stat_at(borrowed, path_flags, path.clone()).await
                    && !allowed(stat.type_)
                {
                    return Ok((Err(ErrorCode::Access),));
                }
                let opened = match view.open_at(dir, path_flags, path, oflags, flags).await {
                    Ok(fd) => Ok(fd),
                    Err(e) => Err(types::Host::convert_error_code(&mut view, e)?),
                };
                Ok((opened,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Whether a file of this type may be opened: a symlink is only seen here
/// when the open does not follow it, and then the open itself fails.
fn allowed(ty: DescriptorType) -> bool {
    matches!(
        ty,
        DescriptorType::RegularFile | DescriptorType::Directory | DescriptorType::SymbolicLink
    )
}
