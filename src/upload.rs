//! Upload of Lambda zips to the artifacts bucket, under content-addressed keys.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, ChecksumAlgorithm, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use crate::artifacts::{Artifact, ArtifactSet};
use crate::aws::{AwsError, Clients};
use crate::progress::Progress;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "artifacts bucket {bucket} does not exist or is not accessible; create it, or remove artifacts_bucket from the environment file so the deployer creates its own"
    )]
    BucketMissing { bucket: String },
    #[error("failed to read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Name of the bucket the deployer creates when the environment names none.
///
/// The template derives the same name from `AWS::AccountId` and `AWS::Region`.
pub fn default_bucket_name(account_id: &str, region: &str) -> String {
    format!("pinpoint-attribution-artifacts-{account_id}-{region}")
}

/// Returns whether the bucket exists and this caller can reach it.
pub async fn bucket_exists(clients: &Clients, bucket: &str) -> Result<bool, AwsError> {
    match clients.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(false)
        }
        Err(error) => Err(AwsError::new("HeadBucket", bucket, error)),
    }
}

/// Creates the deployer's own bucket, then makes it private and encrypted.
pub async fn create_bucket(clients: &Clients, bucket: &str, region: &str) -> Result<(), AwsError> {
    let mut request = clients.s3.create_bucket().bucket(bucket);
    // NOTE: us-east-1 is the one region that rejects an explicit location constraint.
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    request
        .send()
        .await
        .map_err(|error| AwsError::new("CreateBucket", bucket, error))?;

    secure_bucket(clients, bucket).await
}

/// Returns whether the deployer's bucket blocks every kind of public access.
///
/// [`secure_bucket`] writes this block last, so a complete block also means that default
/// encryption is set. An apply stopped between the two leaves it missing or partial.
pub async fn bucket_is_secured(clients: &Clients, bucket: &str) -> Result<bool, AwsError> {
    let response = match clients
        .s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error)
            if error
                .as_service_error()
                .and_then(|e| e.meta().code())
                .is_some_and(|code| code == "NoSuchPublicAccessBlockConfiguration") =>
        {
            return Ok(false);
        }
        Err(error) => return Err(AwsError::new("GetPublicAccessBlock", bucket, error)),
    };

    let Some(block) = response.public_access_block_configuration() else {
        return Ok(false);
    };
    Ok([
        block.block_public_acls(),
        block.block_public_policy(),
        block.ignore_public_acls(),
        block.restrict_public_buckets(),
    ]
    .iter()
    .all(|setting| *setting == Some(true)))
}

/// Sets default encryption, then blocks all public access. Repeating it changes nothing.
pub async fn secure_bucket(clients: &Clients, bucket: &str) -> Result<(), AwsError> {
    let encryption = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .expect("sse_algorithm is set"),
                )
                .build(),
        )
        .build()
        .expect("rules are set");
    clients
        .s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(encryption)
        .send()
        .await
        .map_err(|error| AwsError::new("PutBucketEncryption", bucket, error))?;

    clients
        .s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|error| AwsError::new("PutPublicAccessBlock", bucket, error))?;
    Ok(())
}

/// Returns whether an object exists.
pub async fn object_exists(clients: &Clients, bucket: &str, key: &str) -> Result<bool, AwsError> {
    match clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
        Err(error)
            if error
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(false)
        }
        Err(error) => Err(AwsError::new(
            "HeadObject",
            format!("s3://{bucket}/{key}"),
            error,
        )),
    }
}

/// Returns the artifacts that are not in the bucket yet.
pub async fn missing_artifacts<'a>(
    clients: &Clients,
    bucket: &str,
    artifacts: impl IntoIterator<Item = &'a Artifact>,
) -> Result<Vec<&'a Artifact>, AwsError> {
    let mut missing = Vec::new();
    let mut checked = BTreeSet::new();
    for artifact in artifacts {
        let key = artifact.s3_key();
        if checked.insert(key.clone()) && !object_exists(clients, bucket, &key).await? {
            missing.push(artifact);
        }
    }
    Ok(missing)
}

/// Uploads one zip with a SHA-256 checksum that S3 verifies on receipt.
pub async fn upload_artifact(
    clients: &Clients,
    bucket: &str,
    set: &ArtifactSet,
    artifact: &Artifact,
    progress: &Progress,
) -> Result<(), UploadError> {
    let path = set.path_of(artifact);
    let body = ByteStream::from_path(&path)
        .await
        .map_err(|error| UploadError::Read {
            path: path.display().to_string(),
            source: std::io::Error::other(error),
        })?;
    let key = artifact.s3_key();
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(body)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map_err(|error| AwsError::new("PutObject", format!("s3://{bucket}/{key}"), error))?;
    progress.line(format!(
        "uploaded s3://{bucket}/{key} ({} bytes)",
        artifact.size
    ));
    Ok(())
}
