//! Data movement: ops whose outputs are inputs' values rearranged (or constants); they cost no
//! constraint.

pub mod embedding;
pub mod gather;
pub mod reshape;
pub mod slice;
pub mod squeeze;
pub mod where_const;
