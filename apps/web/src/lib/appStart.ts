import { Mark, mark } from './marks.ts';

// Imported first by main.tsx, so this runs before any other app module is evaluated.
mark(Mark.appStart, undefined, true);
