//! The shared store on Redis: `GET`/`SET` of verified entries under
//! `kiln:steps-v1:<key>`, through a small RESP2 client over one TCP
//! connection (reconnected after an error). Entries expire after 30 days;
//! the server's own `maxmemory` policy bounds its size.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Duration;

use super::StepKey;
use super::entry::{self, Cached, Decoded};

/// Seconds before an entry expires.
const TTL_SECONDS: u64 = 30 * 24 * 3600;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Talking to Redis failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not `redis://HOST[:PORT][/DB]`.
    #[error("`{0}` is not a redis URL (redis://HOST:PORT)")]
    Url(String),
    /// The connection failed.
    #[error("cannot reach redis at {addr}")]
    Io {
        /// host:port.
        addr: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server answered with an error or something unexpected.
    #[error("redis at {addr} answered `{reply}`")]
    Reply {
        /// host:port.
        addr: String,
        /// The reply.
        reply: String,
    },
}

/// A Redis-backed store.
#[derive(Debug)]
pub struct RedisStore {
    addr: String,
    db: Option<String>,
    conn: Mutex<Option<BufReader<TcpStream>>>,
}

enum Reply {
    Simple(String),
    Bulk(Option<Vec<u8>>),
    Int(i64),
}

impl RedisStore {
    /// Connects to `redis://HOST[:PORT][/DB]` and checks the server answers.
    pub fn connect(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| Error::Url(url.to_owned()))?;
        let (hostport, db) = match rest.split_once('/') {
            Some((h, d)) if !d.is_empty() => (h, Some(d.to_owned())),
            Some((h, _)) => (h, None),
            None => (rest, None),
        };
        if hostport.is_empty() || hostport.contains('@') {
            return Err(Error::Url(url.to_owned()));
        }
        let addr = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            hostport.to_owned()
        } else {
            format!("{hostport}:6379")
        };
        let store = Self {
            addr,
            db,
            conn: Mutex::new(None),
        };
        match store.command(&[b"PING"])? {
            Reply::Simple(s) if s == "PONG" => Ok(store),
            other => Err(store.unexpected(&other)),
        }
    }

    fn unexpected(&self, reply: &Reply) -> Error {
        let reply = match reply {
            Reply::Simple(s) => s.clone(),
            Reply::Bulk(b) => format!("{} bytes", b.as_ref().map_or(0, Vec::len)),
            Reply::Int(i) => i.to_string(),
        };
        Error::Reply {
            addr: self.addr.clone(),
            reply,
        }
    }

    fn name(key: &StepKey) -> Vec<u8> {
        format!("kiln:steps-v1:{key}").into_bytes()
    }

    /// The entry for `key`; damaged entries are deleted and count as a miss.
    pub fn get(&self, key: &StepKey) -> Result<Option<Cached>, Error> {
        let name = Self::name(key);
        match self.command(&[b"GET", &name])? {
            Reply::Bulk(None) => Ok(None),
            Reply::Bulk(Some(bytes)) => match entry::decode(key, &bytes) {
                Decoded::Hit(cached) => Ok(Some(cached)),
                Decoded::Old => Ok(None),
                Decoded::Bad => {
                    tracing::warn!(key = %key, "dropping a damaged render cache entry in redis");
                    self.command(&[b"DEL", &name])?;
                    Ok(None)
                }
            },
            other => Err(self.unexpected(&other)),
        }
    }

    /// Stores `cached` under `key`.
    pub fn put(&self, key: &StepKey, cached: &Cached) -> Result<(), Error> {
        let ttl = TTL_SECONDS.to_string();
        match self.command(&[
            b"SET",
            &Self::name(key),
            &entry::encode(key, cached),
            b"EX",
            ttl.as_bytes(),
        ])? {
            Reply::Simple(s) if s == "OK" => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    fn command(&self, args: &[&[u8]]) -> Result<Reply, Error> {
        let mut guard = self.conn.lock().expect("lock poisoned by a panic");
        let io = |source| Error::Io {
            addr: self.addr.clone(),
            source,
        };
        if guard.is_none() {
            let stream = TcpStream::connect(&self.addr).map_err(io)?;
            stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
            stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
            let mut conn = BufReader::new(stream);
            if let Some(db) = &self.db {
                send(&mut conn, &[b"SELECT", db.as_bytes()]).map_err(io)?;
                if !matches!(read(&mut conn).map_err(io)?, Reply::Simple(_)) {
                    return Err(Error::Reply {
                        addr: self.addr.clone(),
                        reply: format!("cannot select db {db}"),
                    });
                }
            }
            *guard = Some(conn);
        }
        let conn = guard.as_mut().expect("connected above");
        let result = send(conn, args).and_then(|()| read(conn));
        if result.is_err() {
            *guard = None;
        }
        match result.map_err(io)? {
            Reply::Simple(s) if s.starts_with('-') => Err(Error::Reply {
                addr: self.addr.clone(),
                reply: s[1..].to_owned(),
            }),
            reply => Ok(reply),
        }
    }
}

fn send(conn: &mut BufReader<TcpStream>, args: &[&[u8]]) -> std::io::Result<()> {
    let mut buf = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
    conn.get_mut().write_all(&buf)
}

fn read(conn: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut line = String::new();
    conn.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    let (kind, rest) = line.split_at_checked(1).ok_or_else(|| bad("empty reply"))?;
    match kind {
        "+" => Ok(Reply::Simple(rest.to_owned())),
        "-" => Ok(Reply::Simple(format!("-{rest}"))),
        ":" => rest
            .parse()
            .map(Reply::Int)
            .map_err(|_| bad("bad integer reply")),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| bad("bad bulk length"))?;
            let Ok(len) = usize::try_from(len) else {
                return Ok(Reply::Bulk(None));
            };
            // Read as it arrives: a length the server only claims
            // allocates nothing.
            let want = u64::try_from(len).unwrap_or(u64::MAX).saturating_add(2);
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut *conn, want), &mut data)?;
            if (data.len() as u64) < want {
                return Err(bad("bulk reply shorter than its length"));
            }
            data.truncate(len);
            Ok(Reply::Bulk(Some(data)))
        }
        _ => Err(bad("unsupported reply type")),
    }
}
