//! Initializers: Keras's weight initializers from a seeded `no_std` PRNG
//! (`keras.initializers.*`).
