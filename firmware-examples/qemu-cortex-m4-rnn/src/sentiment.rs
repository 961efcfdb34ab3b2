//! The Keras drug-review sentiment LSTM streamed on the device one token per call
//! (`ember_nn::model::Stream`), checked against Keras's whole-review predictions.

use core::hint::black_box;

use ember_nn::model::Stream;
use ember_nn::{ArenaBuffer, Error};
use firmware_common::{close, measure};

/// The blob, `ARENA_BYTES_STREAM` and `STREAM_STATE_ELEMS` (`build.rs`; the module's
/// other sizes are for whole-sequence use).
#[allow(dead_code)]
mod model {
    include!(concat!(env!("OUT_DIR"), "/sentiment.rs"));
}

/// `REVIEWS` test reviews' `IDS` (`TOKENS` each, post-padded with 0) and `KERAS`.
mod vectors {
    include!(concat!(env!("OUT_DIR"), "/sentiment_vectors.rs"));
}

/// The stream's arena, sized by the host tools at build time.
static mut ARENA: ArenaBuffer<{ model::ARENA_BYTES_STREAM }> = ArenaBuffer::new();
/// The recurrent state (LSTM `h`, `c`): the caller's buffer, kept between tokens.
static mut STATE: [f32; model::STREAM_STATE_ELEMS] = [0.0; model::STREAM_STATE_ELEMS];

/// Streams every review token by token; returns whether each final output matches Keras.
pub fn run() -> Result<bool, Error> {
    // SAFETY: `run` is called once from `main`; these are the only references to the
    // two statics.
    let (arena, state) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(ARENA),
            &mut *core::ptr::addr_of_mut!(STATE),
        )
    };
    let mut stream = Stream::<f32>::new(&model::MODEL_BLOB.0, arena.as_mut_bytes(), state)?;
    let mut finals = [0.0f32; vectors::REVIEWS];
    let mut instructions = 0u64;
    let mut real_tokens = 0u64;
    for (r, review) in vectors::IDS.chunks(vectors::TOKENS).enumerate() {
        stream.reset_states();
        let mut y = [0.0f32];
        for id in review {
            let (res, n) = measure::count_instructions(|| stream.step(black_box(&[*id]), &mut y));
            res?;
            if *id != 0.0 {
                instructions += n;
                real_tokens += 1;
            }
        }
        finals[r] = y[0];
    }
    defmt::info!(
        "sentiment LSTM streamed: {=usize} reviews, {=u64} tokens, {=u64} instructions per token; arena {=usize} bytes, state {=usize} floats",
        vectors::REVIEWS,
        real_tokens,
        instructions / real_tokens.max(1),
        model::ARENA_BYTES_STREAM,
        model::STREAM_STATE_ELEMS
    );
    let ok = close("streamed sentiment", &finals, &vectors::KERAS, 1e-4, 1e-6);
    defmt::info!("sentiment LSTM streamed matches Keras: {=bool}", ok);
    Ok(ok)
}
