//! A command's session: the loaded environment, the selected applications, the SDK clients and
//! the caller's identity.

use crate::aws::{AwsError, AwsOptions, Clients, load_sdk_config};
use crate::config::{Application, Environment};
use crate::upload::default_bucket_name;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("--app {name} does not match any application in {file}; known applications: {known}")]
    UnknownApplication {
        name: String,
        file: String,
        known: String,
    },
    #[error(
        "--region {flag} conflicts with region {file_region} in {file}; drop --region or edit the environment file"
    )]
    RegionConflict {
        flag: String,
        file_region: String,
        file: String,
    },
    #[error(
        "the credentials belong to account {actual}, but {file} sets account_id {expected}; use credentials of account {expected} (for example --profile) or fix account_id"
    )]
    WrongAccount {
        actual: String,
        expected: String,
        file: String,
    },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The AWS identity the commands run as.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`), read from the caller's ARN.
    pub partition: String,
}

/// Everything a command needs after the environment file has been validated.
pub struct Session {
    pub environment: Environment,
    /// The applications selected with `--app`, in file order; all of them without it.
    pub applications: Vec<Application>,
    pub clients: Clients,
    pub caller: Caller,
}

/// Returns the applications named by `filter` (all when it is empty), in file order.
pub fn select_applications(
    environment: &Environment,
    filter: &[String],
) -> Result<Vec<Application>, SessionError> {
    for name in filter {
        if !environment.applications.iter().any(|app| &app.name == name) {
            let known: Vec<&str> = environment
                .applications
                .iter()
                .map(|app| app.name.as_str())
                .collect();
            return Err(SessionError::UnknownApplication {
                name: name.clone(),
                file: environment.source.display().to_string(),
                known: known.join(", "),
            });
        }
    }
    Ok(environment
        .applications
        .iter()
        .filter(|app| filter.is_empty() || filter.contains(&app.name))
        .cloned()
        .collect())
}

/// Resolves the region: the environment file's, unless `--region` names another one.
pub fn resolve_region(
    environment: &Environment,
    flag: Option<&str>,
) -> Result<String, SessionError> {
    match flag {
        Some(flag) if flag != environment.region => Err(SessionError::RegionConflict {
            flag: flag.to_owned(),
            file_region: environment.region.clone(),
            file: environment.source.display().to_string(),
        }),
        _ => Ok(environment.region.clone()),
    }
}

impl Session {
    /// Builds the clients and checks that the credentials belong to the configured account.
    pub async fn open(
        environment: Environment,
        filter: &[String],
        profile: Option<String>,
        region_flag: Option<&str>,
        endpoint_url: Option<String>,
    ) -> Result<Session, SessionError> {
        let applications = select_applications(&environment, filter)?;
        let region = resolve_region(&environment, region_flag)?;
        let options = AwsOptions {
            profile,
            region,
            endpoint_url,
        };
        let clients = Clients::new(&load_sdk_config(&options).await);

        let caller = caller_identity(&clients).await?;
        if let Some(expected) = &environment.account_id
            && expected != &caller.account_id
        {
            return Err(SessionError::WrongAccount {
                actual: caller.account_id,
                expected: expected.clone(),
                file: environment.source.display().to_string(),
            });
        }

        Ok(Session {
            environment,
            applications,
            clients,
            caller,
        })
    }

    /// Returns the bucket that stores the Lambda zips.
    pub fn artifacts_bucket(&self) -> String {
        match &self.environment.artifacts_bucket {
            Some(bucket) => bucket.clone(),
            None => default_bucket_name(&self.caller.account_id, &self.environment.region),
        }
    }

    /// ARN that the application's Kinesis stream has once its stack exists.
    ///
    /// The template names the stream `<stack>-events`, so the ARN is known before the first
    /// apply and an event stream that already points there belongs to this deployer.
    pub fn expected_stream_arn(&self, application: &Application) -> String {
        format!(
            "arn:{}:kinesis:{}:{}:stream/{}-events",
            self.caller.partition,
            self.environment.region,
            self.caller.account_id,
            self.environment.stack_name(application)
        )
    }
}

async fn caller_identity(clients: &Clients) -> Result<Caller, AwsError> {
    let identity = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|error| AwsError::new("GetCallerIdentity", "the current credentials", error))?;
    let partition = identity
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .filter(|partition| !partition.is_empty())
        .unwrap_or("aws")
        .to_owned();
    Ok(Caller {
        account_id: identity.account().unwrap_or_default().to_owned(),
        partition,
    })
}
