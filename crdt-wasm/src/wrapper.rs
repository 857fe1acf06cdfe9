//! What every type wrapper shares: its replica id, its encoding and `merge`, which is
//! crdt-core's `join` under the name JavaScript CRDT libraries use (Yjs, Automerge).

/// Declares a wrapper `$name` of the core type `$ty` held as `value` by replica `replica`,
/// with a constructor, `replicaId`, `encode`, `decode` and `merge`.
macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident($ty:ty)) => {
        $(#[$doc])*
        #[wasm_bindgen::prelude::wasm_bindgen]
        #[derive(Debug)]
        pub struct $name {
            value: $ty,
            replica: crdt_core::ReplicaId,
        }

        #[wasm_bindgen::prelude::wasm_bindgen]
        impl $name {
            /// An empty value held by the replica `replicaId` (a UUID); a fresh random id if
            /// omitted. Two live copies must never share an id.
            #[wasm_bindgen::prelude::wasm_bindgen(constructor)]
            pub fn new(
                #[wasm_bindgen(js_name = replicaId)] replica_id: Option<String>,
            ) -> Result<$name, wasm_bindgen::JsError> {
                Ok(Self {
                    value: <$ty>::default(),
                    replica: crate::js_value::replica_id(replica_id)?,
                })
            }

            /// The id of the replica making this copy's changes.
            #[wasm_bindgen::prelude::wasm_bindgen(getter, js_name = replicaId)]
            pub fn replica_id(&self) -> String {
                self.replica.to_string()
            }

            /// The whole state, in the toolkit's canonical binary encoding: to keep, or to
            /// send to a replica that has nothing yet.
            pub fn encode(&self) -> Result<Vec<u8>, wasm_bindgen::JsError> {
                crdt_core::Codec::encode(&self.value).map_err(crate::js_value::js_error)
            }

            /// A copy restored from `encode`'s bytes, held by `replicaId` (a fresh random id
            /// if omitted). Throws on bytes that are not such an encoding.
            pub fn decode(
                bytes: &[u8],
                #[wasm_bindgen(js_name = replicaId)] replica_id: Option<String>,
            ) -> Result<$name, wasm_bindgen::JsError> {
                Ok(Self {
                    value: <$ty as crdt_core::Codec>::decode(bytes)
                        .map_err(crate::js_value::js_error)?,
                    replica: crate::js_value::replica_id(replica_id)?,
                })
            }

            /// Joins (crdt-core's `Lattice::join`) a delta or a whole state (bytes from a mutator or `encode`, in any
            /// order, any number of times); returns whether this copy changed. Throws, and
            /// changes nothing, on bytes that are not an encoding of this type.
            pub fn merge(&mut self, bytes: &[u8]) -> Result<bool, wasm_bindgen::JsError> {
                let other = <$ty as crdt_core::Codec>::decode(bytes)
                    .map_err(crate::js_value::js_error)?;
                let before = self.value.clone();
                crdt_core::Lattice::join(&mut self.value, &other);
                Ok(self.value != before)
            }
        }

        impl $name {
            /// The delta, encoded for the page to send.
            fn delta(delta: &$ty) -> Result<Vec<u8>, wasm_bindgen::JsError> {
                crdt_core::Codec::encode(delta).map_err(crate::js_value::js_error)
            }
        }
    };
}

pub(crate) use wrapper;
