/** The Store conformance suite against the local store's test layer. */
import * as StoreLive from "../../../../src/stores/local/layer.js"
import { storeConformance } from "./conformance.js"

storeConformance("local store (layerTest)", StoreLive.layerTest)
