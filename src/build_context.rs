//! The build context: checked up front, then streamed to the daemon as a tar, walked and written
//! on a blocking thread into a small bounded channel so memory stays flat whatever its size.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::domain::dockerignore::IgnoreRules;
use crate::error::{Error, Result};

const CHUNK: usize = 64 * 1024;
const CHANNEL_CHUNKS: usize = 8;

/// What will be sent: the context directory, its ignore rules, and where the Dockerfile is.
#[derive(Debug, Clone)]
pub struct ContextPlan {
    pub context_dir: PathBuf,
    /// The Dockerfile's path inside the tar, as the daemon's `dockerfile` parameter.
    pub dockerfile_in_tar: String,
    /// A Dockerfile outside the context, added to the tar under `dockerfile_in_tar`.
    external_dockerfile: Option<PathBuf>,
    rules: IgnoreRules,
}

impl ContextPlan {
    /// Where the Dockerfile is on disk.
    pub fn dockerfile_path(&self) -> PathBuf {
        match &self.external_dockerfile {
            Some(path) => path.clone(),
            None => self.context_dir.join(&self.dockerfile_in_tar),
        }
    }
}

/// Counts of what was sent, for the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContextStats {
    pub files: u64,
    pub bytes: u64,
    /// The daemon stopped reading before the end: its answer says why (an option it refused
    /// before looking at the context), so that is not an error of the walk.
    pub abandoned: bool,
}

/// Checks the context and Dockerfile with the aws-ecr orb's meanings: `context` is the build
/// context, `dockerfile_dir` the directory holding the Dockerfile named `dockerfile_name`.
pub fn plan(context: &Path, dockerfile_dir: &Path, dockerfile_name: &str) -> Result<ContextPlan> {
    let context_meta = fs::metadata(context).map_err(|e| {
        Error::usage(format!(
            "build context {} cannot be read: {e}",
            context.display()
        ))
        .with_hint(
            "--build-path names the build context directory (default: the current directory)",
        )
    })?;
    if !context_meta.is_dir() {
        return Err(Error::usage(format!(
            "build context {} is not a directory",
            context.display()
        ))
        .with_hint("--build-path names the build context directory, not a file"));
    }
    let dockerfile = dockerfile_dir.join(dockerfile_name);
    if !dockerfile.is_file() {
        return Err(Error::usage(format!("Dockerfile {} does not exist", dockerfile.display()))
            .with_hint("--path is the directory holding the Dockerfile and --dockerfile its name (defaults: . and Dockerfile)"));
    }
    let context_dir = context
        .canonicalize()
        .map_err(|e| Error::usage(format!("build context {}: {e}", context.display())))?;
    let dockerfile = dockerfile
        .canonicalize()
        .map_err(|e| Error::usage(format!("Dockerfile {}: {e}", dockerfile.display())))?;

    let mut rules = match fs::read_to_string(context_dir.join(".dockerignore")) {
        Ok(text) => IgnoreRules::parse(&text).map_err(|e| {
            Error::usage(format!(
                "{}: {e}",
                context_dir.join(".dockerignore").display()
            ))
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => IgnoreRules::default(),
        Err(e) => {
            return Err(Error::usage(format!(
                "cannot read {}: {e}",
                context_dir.join(".dockerignore").display()
            )))
        }
    };
    rules.always_include(".dockerignore");

    let (dockerfile_in_tar, external_dockerfile) = match dockerfile.strip_prefix(&context_dir) {
        Ok(relative) => (to_tar_path(relative), None),
        Err(_) => (external_name(&dockerfile), Some(dockerfile)),
    };
    rules.always_include(&dockerfile_in_tar);
    Ok(ContextPlan {
        context_dir,
        dockerfile_in_tar,
        external_dockerfile,
        rules,
    })
}

/// Starts the walk. The stream yields the tar; the handle yields the walk's own result, whose
/// error (a file that cannot be read) explains a failed upload better than the HTTP error does.
/// When the stream's reader goes away first, the walk stops and reports `abandoned`.
pub fn stream(
    plan: ContextPlan,
) -> (
    impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    tokio::task::JoinHandle<Result<ContextStats>>,
) {
    let (sender, receiver) = mpsc::channel::<Result<Bytes, io::Error>>(CHANNEL_CHUNKS);
    let handle = tokio::task::spawn_blocking(move || {
        let error_sender = sender.clone();
        let mut stats = ContextStats::default();
        match write_tar(&plan, ChannelWriter::new(sender), &mut stats) {
            Ok(()) => Ok(stats),
            Err(_) if error_sender.is_closed() => Ok(ContextStats {
                abandoned: true,
                ..stats
            }),
            Err(error) => {
                let _ = error_sender.blocking_send(Err(io::Error::other(error.message.clone())));
                Err(error)
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    (stream, handle)
}

fn write_tar(plan: &ContextPlan, writer: ChannelWriter, stats: &mut ContextStats) -> Result<()> {
    let mut builder = tar::Builder::new(writer);
    builder.follow_symlinks(false);
    walk(plan, &plan.context_dir, "", &mut builder, stats)?;
    if let Some(external) = &plan.external_dockerfile {
        append_file(&mut builder, external, &plan.dockerfile_in_tar, stats)?;
    }
    let mut writer = builder
        .into_inner()
        .map_err(|e| Error::failed(format!("could not finish the build context: {e}")))?;
    writer
        .flush()
        .map_err(|e| Error::failed(format!("could not send the build context: {e}")))?;
    Ok(())
}

fn walk(
    plan: &ContextPlan,
    directory: &Path,
    prefix: &str,
    builder: &mut tar::Builder<ChannelWriter>,
    stats: &mut ContextStats,
) -> Result<()> {
    let read_error = |e: io::Error| {
        Error::usage(format!(
            "cannot read {} in the build context: {e}",
            directory.display()
        ))
    };
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(directory)
        .map_err(read_error)?
        .collect::<io::Result<_>>()
        .map_err(read_error)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(Error::usage(format!(
                "{} has a name that is not UTF-8; rename it or add it to .dockerignore",
                entry.path().display()
            )));
        };
        let relative = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let file_type = entry.file_type().map_err(read_error)?;
        let excluded = plan.rules.is_excluded(&relative);
        if file_type.is_dir() {
            if !excluded {
                append_header_only(builder, &entry.path(), &relative)?;
            }
            // An excluded directory is walked only when something in it may still be sent.
            if !excluded || plan.rules.may_include_below(&relative) {
                walk(plan, &entry.path(), &relative, builder, stats)?;
            }
        } else if excluded {
            continue;
        } else if file_type.is_file() {
            append_file(builder, &entry.path(), &relative, stats)?;
        } else if file_type.is_symlink() {
            append_header_only(builder, &entry.path(), &relative)?;
        }
    }
    Ok(())
}

fn header_for(path: &Path, metadata: &fs::Metadata) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_metadata_in_mode(metadata, tar::HeaderMode::Complete);
    // The Docker CLI sends files as root-owned; the image must not depend on the CI user's uid.
    header.set_uid(0);
    header.set_gid(0);
    let _ = header.set_username("");
    let _ = header.set_groupname("");
    if metadata.file_type().is_symlink() {
        if let Ok(target) = fs::read_link(path) {
            let _ = header.set_link_name(&target);
        }
    }
    header
}

fn append_header_only(
    builder: &mut tar::Builder<ChannelWriter>,
    path: &Path,
    name: &str,
) -> Result<()> {
    let metadata = fs::symlink_metadata(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut header = header_for(path, &metadata);
    header.set_size(0);
    builder
        .append_data(&mut header, name, io::empty())
        .map_err(|e| send_error(name, e))
}

fn append_file(
    builder: &mut tar::Builder<ChannelWriter>,
    path: &Path,
    name: &str,
    stats: &mut ContextStats,
) -> Result<()> {
    let file = fs::File::open(path).map_err(|e| {
        Error::usage(format!(
            "cannot read {} in the build context: {e}",
            path.display()
        ))
    })?;
    let metadata = file
        .metadata()
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut header = header_for(path, &metadata);
    builder
        .append_data(&mut header, name, file)
        .map_err(|e| send_error(name, e))?;
    stats.files += 1;
    stats.bytes += metadata.len();
    Ok(())
}

fn send_error(name: &str, error: io::Error) -> Error {
    Error::failed(format!(
        "could not send {name} in the build context: {error}"
    ))
}

fn to_tar_path(relative: &Path) -> String {
    relative
        .components()
        .map(|component| component.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A name for a Dockerfile that lives outside the context, as the Docker CLI does.
fn external_name(dockerfile: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dockerfile.hash(&mut hasher);
    std::process::id().hash(&mut hasher);
    format!(".dockerfile.{:016x}", hasher.finish())
}

/// Cuts the tar into chunks and hands them to the async side, waiting when it is behind.
struct ChannelWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl ChannelWriter {
    fn new(sender: mpsc::Sender<Result<Bytes, io::Error>>) -> Self {
        ChannelWriter {
            buffer: Vec::with_capacity(CHUNK),
            sender,
        }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let taken = room.min(bytes.len());
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    async fn tar_names(plan: ContextPlan) -> Vec<String> {
        let (stream, handle) = stream(plan);
        let chunks: Vec<Bytes> = stream.map(|chunk| chunk.unwrap()).collect().await;
        handle.await.unwrap().unwrap();
        let bytes: Vec<u8> = chunks.concat();
        let mut archive = tar::Archive::new(bytes.as_slice());
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                entry
                    .unwrap()
                    .path()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[tokio::test]
    async fn honours_dockerignore_and_always_sends_the_dockerfile() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch\n");
        write(
            root,
            ".dockerignore",
            "secret.txt\nnode_modules\n*.md\n!README.md\nDockerfile\n",
        );
        write(root, "secret.txt", "no");
        write(root, "node_modules/x/y.js", "no");
        write(root, "NOTES.md", "no");
        write(root, "README.md", "yes");
        write(root, "site/index.html", "yes");
        let plan = plan(root, root, "Dockerfile").unwrap();
        assert_eq!(plan.dockerfile_in_tar, "Dockerfile");
        let names = tar_names(plan).await;
        assert_eq!(
            names,
            [
                ".dockerignore",
                "Dockerfile",
                "README.md",
                "site",
                "site/index.html"
            ]
        );
    }

    #[tokio::test]
    async fn a_dockerfile_in_an_excluded_directory_is_still_sent() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "docker/Dockerfile.web", "FROM scratch\n");
        write(root, "docker/secrets.env", "no");
        write(root, ".dockerignore", "\u{feff}docker\n.dockerignore\n");
        write(root, "index.html", "yes");
        let plan = plan(root, &root.join("docker"), "Dockerfile.web").unwrap();
        assert_eq!(plan.dockerfile_in_tar, "docker/Dockerfile.web");
        let names = tar_names(plan).await;
        assert_eq!(
            names,
            [".dockerignore", "docker/Dockerfile.web", "index.html"]
        );
    }

    #[tokio::test]
    async fn an_exception_inside_an_excluded_directory_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch\n");
        write(root, ".dockerignore", "build\n!build/keep.txt\n");
        write(root, "build/drop.txt", "no");
        write(root, "build/keep.txt", "yes");
        let names = tar_names(plan(root, root, "Dockerfile").unwrap()).await;
        assert!(names.contains(&"build/keep.txt".to_string()), "{names:?}");
        assert!(!names.contains(&"build/drop.txt".to_string()), "{names:?}");
    }

    #[tokio::test]
    async fn a_dockerfile_outside_the_context_is_added_under_a_private_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "docker/Dockerfile.prod", "FROM scratch\n");
        write(dir.path(), "app/index.html", "hi");
        let plan = plan(
            &dir.path().join("app"),
            &dir.path().join("docker"),
            "Dockerfile.prod",
        )
        .unwrap();
        assert!(plan.dockerfile_in_tar.starts_with(".dockerfile."));
        let in_tar = plan.dockerfile_in_tar.clone();
        let names = tar_names(plan).await;
        assert_eq!(names, ["index.html".to_string(), in_tar]);
    }

    #[tokio::test]
    async fn a_reader_that_goes_away_abandons_the_walk_without_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch\n");
        // Far more than the channel holds, so the walk is still writing when the reader leaves.
        let big = "x".repeat(CHUNK * CHANNEL_CHUNKS * 4);
        for index in 0..4 {
            write(root, &format!("data/{index}.bin"), &big);
        }
        let (context, handle) = stream(plan(root, root, "Dockerfile").unwrap());
        let mut context = Box::pin(context);
        assert!(context.next().await.unwrap().is_ok());
        drop(context);
        let stats = handle.await.unwrap().expect("not an error of the walk");
        assert!(stats.abandoned);
        assert!(stats.files < 5, "{stats:?}");

        let (context, handle) = stream(plan(root, root, "Dockerfile").unwrap());
        let chunks: Vec<_> = context.collect().await;
        assert!(chunks.iter().all(Result::is_ok));
        let stats = handle.await.unwrap().unwrap();
        assert!(!stats.abandoned);
        assert_eq!(stats.files, 5);
    }

    #[test]
    fn missing_dockerfile_and_file_context_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let error = plan(dir.path(), dir.path(), "Dockerfile").unwrap_err();
        assert_eq!(error.kind, crate::error::ErrorKind::Usage);
        assert!(error.message.contains("does not exist"), "{error}");
        write(dir.path(), "file", "x");
        let error = plan(&dir.path().join("file"), dir.path(), "Dockerfile").unwrap_err();
        assert!(error.message.contains("not a directory"), "{error}");
        let error = plan(&dir.path().join("missing"), dir.path(), "Dockerfile").unwrap_err();
        assert!(error.message.contains("cannot be read"), "{error}");
    }
}
