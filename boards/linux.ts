// Placeholder entry until the runtime lands: proves the build and the interpreter run.
import { profile } from "./profiles/linux.js";

print("CasaNode 0.1.0 " + profile.name + " boot");
