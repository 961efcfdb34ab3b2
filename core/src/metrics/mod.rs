//! Metrics: streaming, fixed-memory Keras metrics (`keras.metrics.*`).
