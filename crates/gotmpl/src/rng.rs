//! The engine's seeded generator: `ChaCha20`, a cryptographic generator, so
//! that no output (a random name, a salt) tells anything about the others
//! (a password, a private key), and nothing follows from the seed's absence.

use rand_core::{RngCore as _, SeedableRng as _};

/// A seeded `ChaCha20` stream.
#[derive(Debug, Clone)]
pub(crate) struct Rng(rand_chacha::ChaCha20Rng);

impl Rng {
    /// The generator of `seed`'s stream number `stream` (streams of one seed
    /// are independent).
    pub(crate) fn new(seed: [u8; 32], stream: u64) -> Rng {
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % n64).unwrap_or(0)
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }
}
