// A request's images: the body itself, or each file of a multipart/form-data body. A multipart
// body that does not parse (no boundary, cut short, garbled) is the client's error, 400, with
// the parser's reason; the limits on files and parts are 413 naming the limit.
import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-error.js';

export interface Upload { name: string; data: Buffer }

const MAX_FIELDS = 16;

/** @fastify/multipart's limits: the body limit per file, maxFiles files, a few small fields. */
export const multipartLimits = (bodyLimit: number, maxFiles: number) =>
  ({ fileSize: bodyLimit, files: maxFiles, parts: maxFiles + MAX_FIELDS, fields: MAX_FIELDS, fieldSize: 1024 });

/** @fastify/multipart's limit errors (status 413, "reach files limit"…), as the client should read them. */
const LIMITS: Record<string, (maxFiles: number) => string> = {
  FST_FILES_LIMIT: (n) => `Expected at most ${n} files in one multipart body but received more`,
  FST_PARTS_LIMIT: (n) => `Expected at most ${n + MAX_FIELDS} parts (${n} files and ${MAX_FIELDS} fields) in one multipart body but received more`,
  FST_FIELDS_LIMIT: () => `Expected at most ${MAX_FIELDS} non-file fields in one multipart body but received more`,
};

export async function readUploads(request: FastifyRequest, bodyLimit: number, maxFiles: number): Promise<Upload[]> {
  if (request.isMultipart()) {
    const uploads: Upload[] = [];
    let total = 0;
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        const data = await part.toBuffer();
        total += data.length;
        if (total > bodyLimit) throw new HttpError(413, 'BODY_TOO_LARGE', `Expected images of at most ${bodyLimit} bytes together (the body limit) but received more`);
        uploads.push({ name: part.filename || `image-${uploads.length}`, data });
      }
    } catch (e) {
      const { code, statusCode } = e as { code?: string; statusCode?: number };
      if (code && LIMITS[code]) throw new HttpError(413, 'TOO_MANY_PARTS', LIMITS[code](maxFiles));
      if (typeof statusCode === 'number') throw e;
      // busboy's parse errors carry no status: the body is malformed, not the server broken.
      throw new HttpError(400, 'BAD_MULTIPART', `Expected a well-formed multipart/form-data body but it does not parse: ${(e as Error).message}`);
    }
    if (uploads.length === 0) throw new HttpError(400, 'NO_IMAGE', 'Expected one or more image files in the multipart body but received none');
    return uploads;
  }
  const body = request.body;
  if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
    throw new HttpError(400, 'EMPTY_IMAGE', 'Expected an image as the request body (or multipart/form-data) but received an empty body');
  }
  if (!Buffer.isBuffer(body)) {
    throw new HttpError(415, 'NOT_AN_IMAGE', `Expected an image body (image/jpeg, image/png… or application/octet-stream) or multipart/form-data but received ${request.headers['content-type']}`);
  }
  const name = (request.query as Record<string, unknown>).name;
  return [{ name: typeof name === 'string' && name ? name : 'image', data: body }];
}
