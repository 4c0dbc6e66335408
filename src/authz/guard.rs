//! Proof of authorization. The domain hands objects out only as
//! [`Allowed`] values, which this module alone can make, after the decision
//! table said yes; the domain's operations on an object take the proof, so a
//! handler cannot reach or change an object it was not allowed to.

use std::marker::PhantomData;
use std::ops::Deref;

use super::{Action, Object, Subject};
use crate::error::{ApiError, ApiResult};

/// An action, as a type, so that a proof names what it allows.
pub trait Act {
    const ACTION: Action;
}

/// The actions of the decision table as types.
pub mod act {
    use super::{Act, Action};

    macro_rules! acts {
        ($($name:ident),*) => {$(
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Act for $name {
                const ACTION: Action = Action::$name;
            }
        )*};
    }

    acts!(
        Read,
        Create,
        Update,
        Delete,
        ReadPersonal,
        UpdatePersonal,
        Assign,
        Use,
        Start,
        Stop,
        Share,
        Favorite
    );
}

/// Something the decision table can decide about.
pub trait Guarded {
    fn object(&self) -> Object<'_>;
}

/// `value`, which the subject was allowed to `A`.
#[derive(Debug, Clone)]
pub struct Allowed<T, A> {
    value: T,
    act: PhantomData<A>,
}

impl<T, A> Deref for Allowed<T, A> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, A> Allowed<T, A> {
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The same object under a proof of a weaker action that the table
    /// implies: whoever may change an object may read it.
    pub fn read(self) -> Allowed<T, act::Read> {
        Allowed {
            value: self.value,
            act: PhantomData,
        }
    }
}

impl Subject {
    /// The proof that the subject may `A` on `value`, or `value` back.
    pub fn allow<A: Act, T: Guarded>(&self, value: T) -> Result<Allowed<T, A>, T> {
        if self.can(A::ACTION, value.object()) {
            Ok(Allowed {
                value,
                act: PhantomData,
            })
        } else {
            Err(value)
        }
    }

    /// The proof for a workspace the subject has just created: creating a
    /// workspace includes reading it back and queueing its first build, so
    /// whoever may create it for its owner (a custom role with nothing but
    /// `workspace:create`, seed 004) gets both. Other objects get no such
    /// proof.
    pub fn created<T: Guarded>(&self, value: T) -> ApiResult<Allowed<T, act::Read>> {
        let may = match value.object() {
            Object::Workspace { org, owner, .. } => {
                self.can(Action::Create, Object::NewWorkspace { org, owner })
            }
            _ => false,
        };
        if may {
            Ok(Allowed {
                value,
                act: PhantomData,
            })
        } else {
            Err(ApiError::not_found())
        }
    }

    /// [`Subject::allow`], refusing with Coder's 404: the object's
    /// existence is not revealed.
    pub fn visible<A: Act, T: Guarded>(&self, value: T) -> ApiResult<Allowed<T, A>> {
        self.allow(value).map_err(|_| ApiError::not_found())
    }

    /// [`Subject::allow`], refusing with Coder's generic 403 (the caller can
    /// already see the object).
    pub fn permitted<A: Act, T: Guarded>(&self, value: T) -> ApiResult<Allowed<T, A>> {
        self.allow(value).map_err(|_| ApiError::forbidden())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uuid::Uuid;

    use super::*;

    #[derive(Debug)]
    struct Thing(Uuid);

    impl Guarded for Thing {
        fn object(&self) -> Object<'_> {
            Object::ApiKey { owner: self.0 }
        }
    }

    #[derive(Debug)]
    struct NewWs(Uuid, Uuid);

    impl Guarded for NewWs {
        fn object(&self) -> Object<'_> {
            Object::Workspace {
                org: self.0,
                owner: self.1,
                users: &[],
                groups: &[],
                dormant: false,
            }
        }
    }

    #[test]
    fn a_creation_proof_follows_the_right_to_create() {
        let org = Uuid::new_v4();
        let me = Uuid::new_v4();
        let s = Subject {
            user_id: me,
            username: "me".into(),
            key_id: "k".into(),
            site_roles: Arc::default(),
            orgs: Arc::new([(org, vec![])].into_iter().collect()),
            groups: Arc::default(),
            org_perms: Arc::default(),
            system: None,
        };
        assert!(s.created(NewWs(org, me)).is_ok());
        assert_eq!(
            s.created(NewWs(org, Uuid::new_v4())).unwrap_err().status,
            404
        );
        assert!(s.created(Thing(me)).is_err());
    }

    #[test]
    fn a_proof_is_made_only_when_the_table_allows() {
        let me = Uuid::new_v4();
        let s = Subject {
            user_id: me,
            username: "me".into(),
            key_id: "k".into(),
            site_roles: Arc::default(),
            orgs: Arc::default(),
            groups: Arc::default(),
            org_perms: Arc::default(),
            system: None,
        };
        let mine = s.allow::<act::Delete, _>(Thing(me)).ok().unwrap();
        assert_eq!(mine.0, me);
        assert!(s.allow::<act::Delete, _>(Thing(Uuid::new_v4())).is_err());
        assert_eq!(
            s.visible::<act::Read, _>(Thing(Uuid::new_v4()))
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            s.permitted::<act::Read, _>(Thing(Uuid::new_v4()))
                .unwrap_err()
                .status,
            403
        );
    }
}
