import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectInfo, ObjectStore } from '../../ports/object-store.ts';
import type { Health } from '../../ports/health.ts';
import { LakeError } from '../../errors.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix where the lake starts inside the bucket ('' = bucket root). */
  prefix?: string;
  /** For MinIO and other S3-compatible stores; omitted for AWS S3. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (bucket in the path), needed by MinIO. Default: true when an endpoint is set. */
  forcePathStyle?: boolean;
}

/**
 * The lake on S3 (AWS S3, MinIO or any S3-compatible store). Credentials come from the standard
 * AWS variables through the SDK's default chain. A PUT is atomic on S3: readers see the old
 * object or the new one. `ensureBucket()` creates the bucket when it is missing.
 */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = normalisePrefix(options.prefix ?? '');
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      maxAttempts: 3,
    });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (cause) {
        const name = (cause as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
          throw new LakeError('STORE_UNAVAILABLE', `creating bucket ${this.bucket}`, { cause });
        }
      }
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body }));
    } catch (cause) {
      throw new LakeError('STORE_WRITE_FAILED', `writing ${body.byteLength} bytes to s3://${this.bucket}/${this.prefix}${key}`, { cause });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (cause) {
      if (cause instanceof NoSuchKey || (cause as Error).name === 'NoSuchKey') return undefined;
      throw new LakeError('STORE_UNAVAILABLE', `reading s3://${this.bucket}/${this.prefix}${key}`, { cause });
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          objects.push({
            key: object.Key.slice(this.prefix.length),
            size: object.Size ?? 0,
            lastModified: object.LastModified?.getTime() ?? 0,
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (cause) {
      throw new LakeError('STORE_UNAVAILABLE', `listing s3://${this.bucket}/${this.prefix}${prefix}`, { cause });
    }
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (cause) {
      throw new LakeError('STORE_UNAVAILABLE', `deleting s3://${this.bucket}/${this.prefix}${key}`, { cause });
    }
  }

  async health(): Promise<Health> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true, detail: `s3://${this.bucket}/${this.prefix}` };
    } catch (error) {
      return { ok: false, detail: `s3://${this.bucket} unreachable: ${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
