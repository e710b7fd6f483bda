/**
 * The one place the app gets zod from: `zod/mini` (tree-shakable, a fraction of the bundle
 * of classic `zod`) with the English locale registered — zod/mini sets no locale of its own,
 * so without this every default message would be a bare "Invalid input".
 *
 * Import it as a namespace, `import * as z from '../zod'`. Not `import { z } from …`: the
 * bundler cannot tree-shake a namespace object passed around as a value, and that form pulls
 * in all of zod/mini plus every locale (~100 KB gzip).
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
