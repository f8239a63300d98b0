import { preload } from '../lib/preload.ts';

// CodeMirror and the Markdown grammars are most of the app's code: loaded after the
// list has painted (the service worker precaches them for offline use), as soon as a
// note is going to open — while the note loads from storage, not after it (bench
// `coldload`: ~270 ms of fetch and compile on a loaded machine were on that path).
// Not through React.lazy: see `preload` (React delays a Suspense reveal by up to 300 ms).
export const editorModule = preload(() => import('./MarkdownEditor.tsx'));
