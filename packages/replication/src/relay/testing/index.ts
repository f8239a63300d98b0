/** Test harnesses for the relay core. */

export { type RecordedClose, RecordingConnection } from './RecordingConnection.ts';
