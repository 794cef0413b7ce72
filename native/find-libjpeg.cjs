#!/usr/bin/env node
// Finds libjpeg(-turbo) for binding.gyp (Debian: libjpeg62-turbo-dev), for the addon's JPEG fast
// path (src/jpeg_decode.cc): `defines` prints DM_HAVE_LIBJPEG, `libs` prints -ljpeg. Without its
// headers the addon builds anyway and every image is decoded by sharp, only slower.
'use strict';
const fs = require('fs');

const headers = ['/usr/include/jpeglib.h', '/usr/local/include/jpeglib.h'];
const found = headers.some((h) => fs.existsSync(h));
const what = process.argv[2];
if (what === 'defines') {
  if (!found) process.stderr.write('deepmetric: building without the JPEG fast path: no jpeglib.h (install libjpeg62-turbo-dev)\n');
  console.log(found ? 'DM_HAVE_LIBJPEG' : '');
} else if (what === 'libs') {
  console.log(found ? '-ljpeg' : '');
} else {
  process.stderr.write(`find-libjpeg: unknown request '${what}'\n`);
  process.exit(1);
}
