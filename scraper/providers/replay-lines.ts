import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** One line of a text file, without its line ending, with its 1-based number. */
export interface NumberedLine {
  line: string;
  lineNo: number;
}

/** The first `count` lines of a file (fewer if it is shorter), read without loading the rest. */
export async function firstLines(path: string, count: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const { line } of forwardLines(path)) {
    lines.push(line);
    if (lines.length >= count) break;
  }
  return lines;
}

/** Streams the lines of a file from the first to the last. Stopping early closes the file. */
export async function* forwardLines(path: string): AsyncGenerator<NumberedLine> {
  const stream = createReadStream(path);
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const line of reader) yield { line, lineNo: ++lineNo };
  } finally {
    reader.close();
    stream.destroy();
  }
}

const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Streams the lines of a file from the last to the first, reading it backwards in 64 KiB chunks,
 * for files stored newest first. Line numbers are those counted from the top, found by a first
 * pass that only counts newlines. Memory stays at one chunk plus one line.
 */
export async function* backwardLines(path: string): AsyncGenerator<NumberedLine> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    let lineNo = await countLines(path);
    let position = size;
    let rest = Buffer.alloc(0);
    let atEnd = true;
    while (position > 0) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await file.read(chunk, 0, length, position);
      const data = Buffer.concat([chunk, rest]);
      let end = data.length;
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== NEWLINE) continue;
        // The newline that ends the file does not start another line.
        if (!(atEnd && i === data.length - 1)) yield { line: text(data.subarray(i + 1, end)), lineNo: lineNo-- };
        atEnd = false;
        end = i;
      }
      atEnd = false;
      rest = data.subarray(0, end);
    }
    if (lineNo > 0) yield { line: text(rest), lineNo };
  } finally {
    await file.close();
  }
}

function text(bytes: Buffer): string {
  const line = bytes.toString('utf8');
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

async function countLines(path: string): Promise<number> {
  let newlines = 0;
  let last = NEWLINE;
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    for (let i = 0; i < buffer.length; i++) if (buffer[i] === NEWLINE) newlines++;
    if (buffer.length > 0) last = buffer[buffer.length - 1]!;
    bytes += buffer.length;
  }
  return bytes === 0 ? 0 : newlines + (last === NEWLINE ? 0 : 1);
}
