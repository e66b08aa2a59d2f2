/** The Messenger bridge end to end (the shared Meta suite in helpers/meta-e2e.ts). */
import { metaBridgeSuite } from '../helpers/meta-e2e.js';

metaBridgeSuite('messenger');
