//! zkinfer verifier
