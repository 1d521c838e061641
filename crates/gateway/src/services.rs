//! The services behind the routes. Lease, election and lock may be absent;
//! their routes then answer as etcd's gateway does when the gRPC server
//! behind it has not registered the service.

use std::sync::Arc;

use api::{Cluster, Election, Kv, Lease, Lock, Maintenance, Watch};

use crate::unknown_service::UnknownService;

/// What the gateway calls, one trait object per etcd service.
#[derive(Clone)]
pub struct Services {
    pub kv: Arc<dyn Kv>,
    pub watch: Arc<dyn Watch>,
    pub maintenance: Arc<dyn Maintenance>,
    pub cluster: Arc<dyn Cluster>,
    pub lease: Option<Arc<dyn Lease>>,
    pub election: Option<Arc<dyn Election>>,
    pub lock: Option<Arc<dyn Lock>>,
}

impl Services {
    pub(crate) fn lease(&self) -> Arc<dyn Lease> {
        match &self.lease {
            Some(lease) => Arc::clone(lease),
            None => Arc::new(UnknownService),
        }
    }

    pub(crate) fn election(&self) -> Arc<dyn Election> {
        match &self.election {
            Some(election) => Arc::clone(election),
            None => Arc::new(UnknownService),
        }
    }

    pub(crate) fn lock(&self) -> Arc<dyn Lock> {
        match &self.lock {
            Some(lock) => Arc::clone(lock),
            None => Arc::new(UnknownService),
        }
    }
}
